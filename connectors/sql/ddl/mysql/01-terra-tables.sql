-- terra-fanout: Terra's tables (schema: terra) for MySQL 8 / MariaDB 10.6+ (sql destination, dialect: mysql), in the database you connect to.
-- Tables: terra_users, terra_data_payloads, terra_other_payloads.
--
-- Generated from connectors/shared/sql-rows (tables.ts, ddl.ts): do not edit by hand; a test
-- compares this file with the statements autoCreate runs. Regenerate:
--   npx tsc -p tsconfig.json && node dist/test/connectors/sql/write-ddl-files.js
-- Safe to run again: every statement creates only what is missing.
-- Run: mysql --database=<database> < <file>
-- Other table names or namespace: set them in the tenant file and use autoCreate, or edit a copy.
--
-- Rights the writer needs afterwards (example role terra_fanout):
--   GRANT SELECT, INSERT, UPDATE, DELETE ON <database>.* TO 'terra_fanout'@'%';

CREATE TABLE IF NOT EXISTS `terra_users` (
  `user_id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, -- Terra user id.
  `reference_id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,     -- Your own id for the user, set at auth.
  `provider` VARCHAR(64),                                                    -- Terra provider, e.g. GARMIN.
  `granted_scopes` TEXT,                                                     -- Scopes the user granted (`user.scopes`, comma-separated).
  `state` VARCHAR(64) NOT NULL,                                              -- Lifecycle: active (auth), deauth, access_revoked, user_reauth (re-keyed from previous_user_id).
  `previous_user_id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, -- The user id this row was re-keyed from by a user_reauth event.
  `ordering_ts` BIGINT NOT NULL,                                             -- X-Terra-Ordering-Timestamp (else the Kafka timestamp), unix ms. An update with an older value is ignored.
  `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),            -- When terra-fanout first wrote the row.
  `updated_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),            -- When the row last changed.
  PRIMARY KEY (`user_id`),
  INDEX `terra_users_reference_id_idx` (`reference_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `terra_data_payloads` (
  `payload_id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, -- The record identity (32 hex characters): one row per record, the key every write upserts on.
  `user_id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,    -- Terra user id (`user.user_id`).
  `reference_id` TEXT,                                                          -- Your own id for the user (`user.reference_id`).
  `data_type` VARCHAR(64) NOT NULL,                                             -- Terra event type, e.g. activity, sleep, daily.
  `provider` VARCHAR(64),                                                       -- Terra provider, e.g. GARMIN.
  `summary_id` TEXT,                                                            -- `metadata.summary_id` where the item has one.
  `start_time` DATETIME(3),                                                     -- `metadata.start_time` as an instant (a time without offset is read as UTC; the payload keeps the original).
  `end_time` DATETIME(3),                                                       -- `metadata.end_time` as an instant.
  `ordering_ts` BIGINT NOT NULL,                                                -- X-Terra-Ordering-Timestamp (else the Kafka timestamp), unix ms. An update with an older value is ignored.
  `payload` JSON NOT NULL,                                                      -- The record as a Terra event (envelope plus its one data item). Stored data_enrichment scores are kept when a later copy has them null.
  `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),               -- When terra-fanout first wrote the row.
  `updated_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),               -- When the row last changed.
  PRIMARY KEY (`payload_id`),
  INDEX `terra_data_payloads_user_type_start_idx` (`user_id`, `data_type`, `start_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `terra_other_payloads` (
  `payload_id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, -- The record identity (32 hex characters): one row per record, the key every write upserts on.
  `user_id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin,             -- Terra user id (`user.user_id`).
  `reference_id` TEXT,                                                          -- Your own id for the user (`user.reference_id`).
  `data_type` VARCHAR(64) NOT NULL,                                             -- Terra event type, e.g. activity, sleep, daily.
  `provider` VARCHAR(64),                                                       -- Terra provider, e.g. GARMIN.
  `ordering_ts` BIGINT NOT NULL,                                                -- X-Terra-Ordering-Timestamp (else the Kafka timestamp), unix ms. An update with an older value is ignored.
  `payload` JSON NOT NULL,                                                      -- The record as a Terra event (envelope plus its one data item). Stored data_enrichment scores are kept when a later copy has them null.
  `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),               -- When terra-fanout first wrote the row.
  `updated_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),               -- When the row last changed.
  PRIMARY KEY (`payload_id`),
  INDEX `terra_other_payloads_user_type_idx` (`user_id`, `data_type`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
