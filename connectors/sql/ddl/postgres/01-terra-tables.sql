-- terra-fanout: Terra's tables (schema: terra) for PostgreSQL (sql destination, dialect: postgres, namespace: terra).
-- Tables: terra_users, terra_data_payloads, terra_other_payloads.
--
-- Generated from connectors/shared/sql-rows (tables.ts, ddl.ts): do not edit by hand; a test
-- compares this file with the statements autoCreate runs. Regenerate:
--   npx tsc -p tsconfig.json && node dist/test/connectors/sql/write-ddl-files.js
-- Safe to run again: every statement creates only what is missing.
-- Run: psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -f <file>
-- Other table names or namespace: set them in the tenant file and use autoCreate, or edit a copy.
--
-- Rights the writer needs afterwards (example role terra_fanout):
--   GRANT USAGE ON SCHEMA terra TO terra_fanout;
--   GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA terra TO terra_fanout;

CREATE SCHEMA IF NOT EXISTS "terra";

CREATE TABLE IF NOT EXISTS "terra"."terra_users" (
  "user_id" text NOT NULL,       -- Terra user id.
  "reference_id" text,           -- Your own id for the user, set at auth.
  "provider" text,               -- Terra provider, e.g. GARMIN.
  "granted_scopes" text,         -- Scopes the user granted (`user.scopes`, comma-separated).
  "state" text NOT NULL,         -- Lifecycle: active (auth), deauth, access_revoked, user_reauth (re-keyed from previous_user_id).
  "previous_user_id" text,       -- The user id this row was re-keyed from by a user_reauth event.
  "ordering_ts" bigint NOT NULL, -- X-Terra-Ordering-Timestamp (else the Kafka timestamp), unix ms. An update with an older value is ignored.
  "created_at" timestamptz NOT NULL DEFAULT now(), -- When terra-fanout first wrote the row.
  "updated_at" timestamptz NOT NULL DEFAULT now(), -- When the row last changed.
  CONSTRAINT "terra_users_pkey" PRIMARY KEY ("user_id")
);

CREATE INDEX IF NOT EXISTS "terra_users_reference_id_idx" ON "terra"."terra_users" ("reference_id");

CREATE TABLE IF NOT EXISTS "terra"."terra_data_payloads" (
  "payload_id" text NOT NULL,    -- The record identity (32 hex characters): one row per record, the key every write upserts on.
  "user_id" text NOT NULL,       -- Terra user id (`user.user_id`).
  "reference_id" text,           -- Your own id for the user (`user.reference_id`).
  "data_type" text NOT NULL,     -- Terra event type, e.g. activity, sleep, daily.
  "provider" text,               -- Terra provider, e.g. GARMIN.
  "summary_id" text,             -- `metadata.summary_id` where the item has one.
  "start_time" timestamptz,      -- `metadata.start_time` as an instant (a time without offset is read as UTC; the payload keeps the original).
  "end_time" timestamptz,        -- `metadata.end_time` as an instant.
  "ordering_ts" bigint NOT NULL, -- X-Terra-Ordering-Timestamp (else the Kafka timestamp), unix ms. An update with an older value is ignored.
  "payload" jsonb NOT NULL,      -- The record as a Terra event (envelope plus its one data item). Stored data_enrichment scores are kept when a later copy has them null.
  "created_at" timestamptz NOT NULL DEFAULT now(), -- When terra-fanout first wrote the row.
  "updated_at" timestamptz NOT NULL DEFAULT now(), -- When the row last changed.
  CONSTRAINT "terra_data_payloads_pkey" PRIMARY KEY ("payload_id")
);

CREATE INDEX IF NOT EXISTS "terra_data_payloads_user_type_start_idx" ON "terra"."terra_data_payloads" ("user_id", "data_type", "start_time");

CREATE TABLE IF NOT EXISTS "terra"."terra_other_payloads" (
  "payload_id" text NOT NULL,    -- The record identity (32 hex characters): one row per record, the key every write upserts on.
  "user_id" text,                -- Terra user id (`user.user_id`).
  "reference_id" text,           -- Your own id for the user (`user.reference_id`).
  "data_type" text NOT NULL,     -- Terra event type, e.g. activity, sleep, daily.
  "provider" text,               -- Terra provider, e.g. GARMIN.
  "ordering_ts" bigint NOT NULL, -- X-Terra-Ordering-Timestamp (else the Kafka timestamp), unix ms. An update with an older value is ignored.
  "payload" jsonb NOT NULL,      -- The record as a Terra event (envelope plus its one data item). Stored data_enrichment scores are kept when a later copy has them null.
  "created_at" timestamptz NOT NULL DEFAULT now(), -- When terra-fanout first wrote the row.
  "updated_at" timestamptz NOT NULL DEFAULT now(), -- When the row last changed.
  CONSTRAINT "terra_other_payloads_pkey" PRIMARY KEY ("payload_id")
);

CREATE INDEX IF NOT EXISTS "terra_other_payloads_user_type_idx" ON "terra"."terra_other_payloads" ("user_id", "data_type");
