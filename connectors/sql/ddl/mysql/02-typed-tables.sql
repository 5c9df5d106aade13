-- terra-fanout: the typed tables, added by schema: typed (run 01-terra-tables.sql first) for MySQL 8 / MariaDB 10.6+ (sql destination, dialect: mysql), in the database you connect to.
-- Tables: terra_activity, terra_daily, terra_sleep, terra_body, terra_nutrition.
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

CREATE TABLE IF NOT EXISTS `terra_activity` (
  `payload_id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, -- The record identity (32 hex characters): one row per record, the key every write upserts on.
  `user_id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,    -- Terra user id (`user.user_id`).
  `reference_id` TEXT,                                                          -- Your own id for the user (`user.reference_id`).
  `data_type` VARCHAR(64) NOT NULL,                                             -- Terra event type, e.g. activity, sleep, daily.
  `provider` VARCHAR(64),                                                       -- Terra provider, e.g. GARMIN.
  `summary_id` TEXT,                                                            -- `metadata.summary_id` where the item has one.
  `start_time` DATETIME(3),                                                     -- `metadata.start_time` as an instant (a time without offset is read as UTC; the payload keeps the original).
  `end_time` DATETIME(3),                                                       -- `metadata.end_time` as an instant.
  `activity_type` INT,                                                          -- metadata.type (Terra ActivityType; 0 is In Vehicle, not missing).
  `activity_name` TEXT,                                                         -- metadata.name.
  `duration_seconds` DOUBLE,                                                    -- end_time minus start_time, in seconds.
  `active_seconds` DOUBLE,                                                      -- active_durations_data.activity_seconds.
  `distance_meters` DOUBLE,                                                     -- distance_data.summary.distance_meters.
  `steps` DOUBLE,                                                               -- distance_data.summary.steps.
  `calories` DOUBLE,                                                            -- calories_data.total_burned_calories.
  `avg_hr_bpm` DOUBLE,                                                          -- heart_rate_data.summary.avg_hr_bpm.
  `max_hr_bpm` DOUBLE,                                                          -- heart_rate_data.summary.max_hr_bpm.
  `tss` DOUBLE,                                                                 -- TSS_data.TSS_samples: the first sample's `actual`.
  `efficiency_score` DOUBLE,                                                    -- Efficiency score (data_enrichment.efficiency_score; a later null keeps the stored score).
  `strain_score` DOUBLE,                                                        -- Strain score (data_enrichment.strain_score; a later null keeps the stored score).
  `rcrs_score` DOUBLE,                                                          -- RCRS score (data_enrichment.rcrs_score; a later null keeps the stored score).
  `trimp_score` DOUBLE,                                                         -- TRIMP score (data_enrichment.trimp_score; a later null keeps the stored score).
  `ordering_ts` BIGINT NOT NULL,                                                -- X-Terra-Ordering-Timestamp (else the Kafka timestamp), unix ms. An update with an older value is ignored.
  `payload` JSON NOT NULL,                                                      -- The record as a Terra event (envelope plus its one data item). Stored data_enrichment scores are kept when a later copy has them null.
  `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),               -- When terra-fanout first wrote the row.
  `updated_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),               -- When the row last changed.
  PRIMARY KEY (`payload_id`),
  INDEX `terra_activity_user_start_idx` (`user_id`, `start_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `terra_daily` (
  `payload_id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, -- The record identity (32 hex characters): one row per record, the key every write upserts on.
  `user_id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,    -- Terra user id (`user.user_id`).
  `reference_id` TEXT,                                                          -- Your own id for the user (`user.reference_id`).
  `data_type` VARCHAR(64) NOT NULL,                                             -- Terra event type, e.g. activity, sleep, daily.
  `provider` VARCHAR(64),                                                       -- Terra provider, e.g. GARMIN.
  `summary_id` TEXT,                                                            -- `metadata.summary_id` where the item has one.
  `start_time` DATETIME(3),                                                     -- `metadata.start_time` as an instant (a time without offset is read as UTC; the payload keeps the original).
  `end_time` DATETIME(3),                                                       -- `metadata.end_time` as an instant.
  `steps` DOUBLE,                                                               -- distance_data.steps.
  `distance_meters` DOUBLE,                                                     -- distance_data.distance_meters.
  `calories` DOUBLE,                                                            -- calories_data.total_burned_calories.
  `active_seconds` DOUBLE,                                                      -- active_durations_data.activity_seconds.
  `resting_hr_bpm` DOUBLE,                                                      -- heart_rate_data.summary.resting_hr_bpm.
  `avg_hr_bpm` DOUBLE,                                                          -- heart_rate_data.summary.avg_hr_bpm.
  `total_stress_score` DOUBLE,                                                  -- Total stress score (data_enrichment.total_stress_score; a later null keeps the stored score).
  `respiratory_score` DOUBLE,                                                   -- Respiratory score (data_enrichment.respiratory_score; a later null keeps the stored score).
  `immune_index` DOUBLE,                                                        -- Immune index (data_enrichment.immune_index; a later null keeps the stored score).
  `resilience_score` DOUBLE,                                                    -- Resilience score (data_enrichment.resilience_score; a later null keeps the stored score).
  `strain_index` DOUBLE,                                                        -- Strain index (data_enrichment.strain_index; a later null keeps the stored score).
  `ordering_ts` BIGINT NOT NULL,                                                -- X-Terra-Ordering-Timestamp (else the Kafka timestamp), unix ms. An update with an older value is ignored.
  `payload` JSON NOT NULL,                                                      -- The record as a Terra event (envelope plus its one data item). Stored data_enrichment scores are kept when a later copy has them null.
  `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),               -- When terra-fanout first wrote the row.
  `updated_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),               -- When the row last changed.
  PRIMARY KEY (`payload_id`),
  INDEX `terra_daily_user_start_idx` (`user_id`, `start_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `terra_sleep` (
  `payload_id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, -- The record identity (32 hex characters): one row per record, the key every write upserts on.
  `user_id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,    -- Terra user id (`user.user_id`).
  `reference_id` TEXT,                                                          -- Your own id for the user (`user.reference_id`).
  `data_type` VARCHAR(64) NOT NULL,                                             -- Terra event type, e.g. activity, sleep, daily.
  `provider` VARCHAR(64),                                                       -- Terra provider, e.g. GARMIN.
  `summary_id` TEXT,                                                            -- `metadata.summary_id` where the item has one.
  `start_time` DATETIME(3),                                                     -- `metadata.start_time` as an instant (a time without offset is read as UTC; the payload keeps the original).
  `end_time` DATETIME(3),                                                       -- `metadata.end_time` as an instant.
  `is_nap` BOOLEAN,                                                             -- metadata.is_nap.
  `asleep_seconds` DOUBLE,                                                      -- sleep_durations_data.asleep.duration_asleep_state_seconds.
  `deep_seconds` DOUBLE,                                                        -- sleep_durations_data.asleep.duration_deep_sleep_state_seconds.
  `light_seconds` DOUBLE,                                                       -- sleep_durations_data.asleep.duration_light_sleep_state_seconds.
  `rem_seconds` DOUBLE,                                                         -- sleep_durations_data.asleep.duration_REM_sleep_state_seconds.
  `awake_seconds` DOUBLE,                                                       -- sleep_durations_data.awake.duration_awake_state_seconds.
  `in_bed_seconds` DOUBLE,                                                      -- sleep_durations_data.other.duration_in_bed_seconds.
  `efficiency` DOUBLE,                                                          -- sleep_durations_data.sleep_efficiency.
  `sleep_score` DOUBLE,                                                         -- Sleep score (data_enrichment.sleep_score; a later null keeps the stored score).
  `readiness_score` DOUBLE,                                                     -- Readiness score (data_enrichment.readiness_score; a later null keeps the stored score).
  `ordering_ts` BIGINT NOT NULL,                                                -- X-Terra-Ordering-Timestamp (else the Kafka timestamp), unix ms. An update with an older value is ignored.
  `payload` JSON NOT NULL,                                                      -- The record as a Terra event (envelope plus its one data item). Stored data_enrichment scores are kept when a later copy has them null.
  `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),               -- When terra-fanout first wrote the row.
  `updated_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),               -- When the row last changed.
  PRIMARY KEY (`payload_id`),
  INDEX `terra_sleep_user_start_idx` (`user_id`, `start_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `terra_body` (
  `payload_id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, -- The record identity (32 hex characters): one row per record, the key every write upserts on.
  `user_id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,    -- Terra user id (`user.user_id`).
  `reference_id` TEXT,                                                          -- Your own id for the user (`user.reference_id`).
  `data_type` VARCHAR(64) NOT NULL,                                             -- Terra event type, e.g. activity, sleep, daily.
  `provider` VARCHAR(64),                                                       -- Terra provider, e.g. GARMIN.
  `summary_id` TEXT,                                                            -- `metadata.summary_id` where the item has one.
  `start_time` DATETIME(3),                                                     -- `metadata.start_time` as an instant (a time without offset is read as UTC; the payload keeps the original).
  `end_time` DATETIME(3),                                                       -- `metadata.end_time` as an instant.
  `weight_kg` DOUBLE,                                                           -- measurements_data.day_avg_weight_kg, else the last measurement's weight_kg.
  `bmi` DOUBLE,                                                                 -- measurements_data.day_avg_bmi, else the last measurement's BMI.
  `bodyfat_percentage` DOUBLE,                                                  -- measurements_data.day_avg_bodyfat_percentage, else the last measurement's bodyfat_percentage.
  `ordering_ts` BIGINT NOT NULL,                                                -- X-Terra-Ordering-Timestamp (else the Kafka timestamp), unix ms. An update with an older value is ignored.
  `payload` JSON NOT NULL,                                                      -- The record as a Terra event (envelope plus its one data item). Stored data_enrichment scores are kept when a later copy has them null.
  `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),               -- When terra-fanout first wrote the row.
  `updated_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),               -- When the row last changed.
  PRIMARY KEY (`payload_id`),
  INDEX `terra_body_user_start_idx` (`user_id`, `start_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `terra_nutrition` (
  `payload_id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, -- The record identity (32 hex characters): one row per record, the key every write upserts on.
  `user_id` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,    -- Terra user id (`user.user_id`).
  `reference_id` TEXT,                                                          -- Your own id for the user (`user.reference_id`).
  `data_type` VARCHAR(64) NOT NULL,                                             -- Terra event type, e.g. activity, sleep, daily.
  `provider` VARCHAR(64),                                                       -- Terra provider, e.g. GARMIN.
  `summary_id` TEXT,                                                            -- `metadata.summary_id` where the item has one.
  `start_time` DATETIME(3),                                                     -- `metadata.start_time` as an instant (a time without offset is read as UTC; the payload keeps the original).
  `end_time` DATETIME(3),                                                       -- `metadata.end_time` as an instant.
  `calories` DOUBLE,                                                            -- summary.macros.calories.
  `protein_g` DOUBLE,                                                           -- summary.macros.protein_g.
  `carbohydrates_g` DOUBLE,                                                     -- summary.macros.carbohydrates_g.
  `fat_g` DOUBLE,                                                               -- summary.macros.fat_g.
  `water_ml` DOUBLE,                                                            -- summary.water_ml.
  `ordering_ts` BIGINT NOT NULL,                                                -- X-Terra-Ordering-Timestamp (else the Kafka timestamp), unix ms. An update with an older value is ignored.
  `payload` JSON NOT NULL,                                                      -- The record as a Terra event (envelope plus its one data item). Stored data_enrichment scores are kept when a later copy has them null.
  `created_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),               -- When terra-fanout first wrote the row.
  `updated_at` DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),               -- When the row last changed.
  PRIMARY KEY (`payload_id`),
  INDEX `terra_nutrition_user_start_idx` (`user_id`, `start_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
