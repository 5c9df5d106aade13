-- terra-fanout: the typed tables, added by schema: typed (run 01-terra-tables.sql first) for Supabase (supabase destination, namespace: public).
-- Tables: terra_activity, terra_daily, terra_sleep, terra_body, terra_nutrition.
--
-- Generated from connectors/shared/sql-rows (tables.ts, ddl.ts): do not edit by hand; a test
-- compares this file with the statements autoCreate runs. Regenerate:
--   npx tsc -p tsconfig.json && node dist/test/connectors/sql/write-ddl-files.js
-- Safe to run again: every statement creates only what is missing.
-- Run: paste into the Supabase SQL editor, or: psql "$SUPABASE_DB_URL" -v ON_ERROR_STOP=1 -f <file>
-- Other table names or namespace: set them in the tenant file and use autoCreate, or edit a copy.
--
-- Rights the writer needs afterwards (example role terra_fanout):
--   The service-role key writes through PostgREST; row level security is enabled with no policies, so anon and authenticated keys see nothing.

CREATE TABLE IF NOT EXISTS "public"."terra_activity" (
  "payload_id" text NOT NULL,          -- The record identity (32 hex characters): one row per record, the key every write upserts on.
  "user_id" text NOT NULL,             -- Terra user id (`user.user_id`).
  "reference_id" text,                 -- Your own id for the user (`user.reference_id`).
  "data_type" text NOT NULL,           -- Terra event type, e.g. activity, sleep, daily.
  "provider" text,                     -- Terra provider, e.g. GARMIN.
  "summary_id" text,                   -- `metadata.summary_id` where the item has one.
  "start_time" timestamptz,            -- `metadata.start_time` as an instant (a time without offset is read as UTC; the payload keeps the original).
  "end_time" timestamptz,              -- `metadata.end_time` as an instant.
  "activity_type" integer,             -- metadata.type (Terra ActivityType; 0 is In Vehicle, not missing).
  "activity_name" text,                -- metadata.name.
  "duration_seconds" double precision, -- end_time minus start_time, in seconds.
  "active_seconds" double precision,   -- active_durations_data.activity_seconds.
  "distance_meters" double precision,  -- distance_data.summary.distance_meters.
  "steps" double precision,            -- distance_data.summary.steps.
  "calories" double precision,         -- calories_data.total_burned_calories.
  "avg_hr_bpm" double precision,       -- heart_rate_data.summary.avg_hr_bpm.
  "max_hr_bpm" double precision,       -- heart_rate_data.summary.max_hr_bpm.
  "tss" double precision,              -- TSS_data.TSS_samples: the first sample's `actual`.
  "efficiency_score" double precision, -- Efficiency score (data_enrichment.efficiency_score; a later null keeps the stored score).
  "strain_score" double precision,     -- Strain score (data_enrichment.strain_score; a later null keeps the stored score).
  "rcrs_score" double precision,       -- RCRS score (data_enrichment.rcrs_score; a later null keeps the stored score).
  "trimp_score" double precision,      -- TRIMP score (data_enrichment.trimp_score; a later null keeps the stored score).
  "ordering_ts" bigint NOT NULL,       -- X-Terra-Ordering-Timestamp (else the Kafka timestamp), unix ms. An update with an older value is ignored.
  "payload" jsonb NOT NULL,            -- The record as a Terra event (envelope plus its one data item). Stored data_enrichment scores are kept when a later copy has them null.
  "created_at" timestamptz NOT NULL DEFAULT now(), -- When terra-fanout first wrote the row.
  "updated_at" timestamptz NOT NULL DEFAULT now(), -- When the row last changed.
  CONSTRAINT "terra_activity_pkey" PRIMARY KEY ("payload_id")
);

CREATE INDEX IF NOT EXISTS "terra_activity_user_start_idx" ON "public"."terra_activity" ("user_id", "start_time");

CREATE OR REPLACE FUNCTION "public"."terra_activity_newest_wins"() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF NEW."ordering_ts" < OLD."ordering_ts" THEN
    RETURN NULL; -- an older copy never overwrites a newer one
  END IF;
  NEW."created_at" := OLD."created_at";
  NEW."updated_at" := now();
  NEW."reference_id" := COALESCE(NEW."reference_id", OLD."reference_id");
  NEW."efficiency_score" := COALESCE(NEW."efficiency_score", OLD."efficiency_score");
  NEW."strain_score" := COALESCE(NEW."strain_score", OLD."strain_score");
  NEW."rcrs_score" := COALESCE(NEW."rcrs_score", OLD."rcrs_score");
  NEW."trimp_score" := COALESCE(NEW."trimp_score", OLD."trimp_score");
  NEW."payload" := CASE WHEN jsonb_typeof(OLD."payload" #> '{data,0,data_enrichment}') = 'object' AND jsonb_typeof(NEW."payload" #> '{data,0}') = 'object'
      THEN jsonb_set(NEW."payload", '{data,0,data_enrichment}',
        (CASE WHEN jsonb_typeof(NEW."payload" #> '{data,0,data_enrichment}') = 'object' THEN NEW."payload" #> '{data,0,data_enrichment}' ELSE '{}'::jsonb END)
        || COALESCE((SELECT jsonb_object_agg(kept.key, kept.value) FROM jsonb_each(OLD."payload" #> '{data,0,data_enrichment}') AS kept
            WHERE COALESCE((NEW."payload" #> '{data,0,data_enrichment}') -> kept.key, 'null'::jsonb) = 'null'::jsonb), '{}'::jsonb))
      ELSE NEW."payload" END;
  RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER "terra_activity_newest_wins" BEFORE UPDATE ON "public"."terra_activity"
  FOR EACH ROW EXECUTE FUNCTION "public"."terra_activity_newest_wins"();

ALTER TABLE "public"."terra_activity" ENABLE ROW LEVEL SECURITY;

CREATE TABLE IF NOT EXISTS "public"."terra_daily" (
  "payload_id" text NOT NULL,            -- The record identity (32 hex characters): one row per record, the key every write upserts on.
  "user_id" text NOT NULL,               -- Terra user id (`user.user_id`).
  "reference_id" text,                   -- Your own id for the user (`user.reference_id`).
  "data_type" text NOT NULL,             -- Terra event type, e.g. activity, sleep, daily.
  "provider" text,                       -- Terra provider, e.g. GARMIN.
  "summary_id" text,                     -- `metadata.summary_id` where the item has one.
  "start_time" timestamptz,              -- `metadata.start_time` as an instant (a time without offset is read as UTC; the payload keeps the original).
  "end_time" timestamptz,                -- `metadata.end_time` as an instant.
  "steps" double precision,              -- distance_data.steps.
  "distance_meters" double precision,    -- distance_data.distance_meters.
  "calories" double precision,           -- calories_data.total_burned_calories.
  "active_seconds" double precision,     -- active_durations_data.activity_seconds.
  "resting_hr_bpm" double precision,     -- heart_rate_data.summary.resting_hr_bpm.
  "avg_hr_bpm" double precision,         -- heart_rate_data.summary.avg_hr_bpm.
  "total_stress_score" double precision, -- Total stress score (data_enrichment.total_stress_score; a later null keeps the stored score).
  "respiratory_score" double precision,  -- Respiratory score (data_enrichment.respiratory_score; a later null keeps the stored score).
  "immune_index" double precision,       -- Immune index (data_enrichment.immune_index; a later null keeps the stored score).
  "resilience_score" double precision,   -- Resilience score (data_enrichment.resilience_score; a later null keeps the stored score).
  "strain_index" double precision,       -- Strain index (data_enrichment.strain_index; a later null keeps the stored score).
  "ordering_ts" bigint NOT NULL,         -- X-Terra-Ordering-Timestamp (else the Kafka timestamp), unix ms. An update with an older value is ignored.
  "payload" jsonb NOT NULL,              -- The record as a Terra event (envelope plus its one data item). Stored data_enrichment scores are kept when a later copy has them null.
  "created_at" timestamptz NOT NULL DEFAULT now(), -- When terra-fanout first wrote the row.
  "updated_at" timestamptz NOT NULL DEFAULT now(), -- When the row last changed.
  CONSTRAINT "terra_daily_pkey" PRIMARY KEY ("payload_id")
);

CREATE INDEX IF NOT EXISTS "terra_daily_user_start_idx" ON "public"."terra_daily" ("user_id", "start_time");

CREATE OR REPLACE FUNCTION "public"."terra_daily_newest_wins"() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF NEW."ordering_ts" < OLD."ordering_ts" THEN
    RETURN NULL; -- an older copy never overwrites a newer one
  END IF;
  NEW."created_at" := OLD."created_at";
  NEW."updated_at" := now();
  NEW."reference_id" := COALESCE(NEW."reference_id", OLD."reference_id");
  NEW."total_stress_score" := COALESCE(NEW."total_stress_score", OLD."total_stress_score");
  NEW."respiratory_score" := COALESCE(NEW."respiratory_score", OLD."respiratory_score");
  NEW."immune_index" := COALESCE(NEW."immune_index", OLD."immune_index");
  NEW."resilience_score" := COALESCE(NEW."resilience_score", OLD."resilience_score");
  NEW."strain_index" := COALESCE(NEW."strain_index", OLD."strain_index");
  NEW."payload" := CASE WHEN jsonb_typeof(OLD."payload" #> '{data,0,data_enrichment}') = 'object' AND jsonb_typeof(NEW."payload" #> '{data,0}') = 'object'
      THEN jsonb_set(NEW."payload", '{data,0,data_enrichment}',
        (CASE WHEN jsonb_typeof(NEW."payload" #> '{data,0,data_enrichment}') = 'object' THEN NEW."payload" #> '{data,0,data_enrichment}' ELSE '{}'::jsonb END)
        || COALESCE((SELECT jsonb_object_agg(kept.key, kept.value) FROM jsonb_each(OLD."payload" #> '{data,0,data_enrichment}') AS kept
            WHERE COALESCE((NEW."payload" #> '{data,0,data_enrichment}') -> kept.key, 'null'::jsonb) = 'null'::jsonb), '{}'::jsonb))
      ELSE NEW."payload" END;
  RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER "terra_daily_newest_wins" BEFORE UPDATE ON "public"."terra_daily"
  FOR EACH ROW EXECUTE FUNCTION "public"."terra_daily_newest_wins"();

ALTER TABLE "public"."terra_daily" ENABLE ROW LEVEL SECURITY;

CREATE TABLE IF NOT EXISTS "public"."terra_sleep" (
  "payload_id" text NOT NULL,         -- The record identity (32 hex characters): one row per record, the key every write upserts on.
  "user_id" text NOT NULL,            -- Terra user id (`user.user_id`).
  "reference_id" text,                -- Your own id for the user (`user.reference_id`).
  "data_type" text NOT NULL,          -- Terra event type, e.g. activity, sleep, daily.
  "provider" text,                    -- Terra provider, e.g. GARMIN.
  "summary_id" text,                  -- `metadata.summary_id` where the item has one.
  "start_time" timestamptz,           -- `metadata.start_time` as an instant (a time without offset is read as UTC; the payload keeps the original).
  "end_time" timestamptz,             -- `metadata.end_time` as an instant.
  "is_nap" boolean,                   -- metadata.is_nap.
  "asleep_seconds" double precision,  -- sleep_durations_data.asleep.duration_asleep_state_seconds.
  "deep_seconds" double precision,    -- sleep_durations_data.asleep.duration_deep_sleep_state_seconds.
  "light_seconds" double precision,   -- sleep_durations_data.asleep.duration_light_sleep_state_seconds.
  "rem_seconds" double precision,     -- sleep_durations_data.asleep.duration_REM_sleep_state_seconds.
  "awake_seconds" double precision,   -- sleep_durations_data.awake.duration_awake_state_seconds.
  "in_bed_seconds" double precision,  -- sleep_durations_data.other.duration_in_bed_seconds.
  "efficiency" double precision,      -- sleep_durations_data.sleep_efficiency.
  "sleep_score" double precision,     -- Sleep score (data_enrichment.sleep_score; a later null keeps the stored score).
  "readiness_score" double precision, -- Readiness score (data_enrichment.readiness_score; a later null keeps the stored score).
  "ordering_ts" bigint NOT NULL,      -- X-Terra-Ordering-Timestamp (else the Kafka timestamp), unix ms. An update with an older value is ignored.
  "payload" jsonb NOT NULL,           -- The record as a Terra event (envelope plus its one data item). Stored data_enrichment scores are kept when a later copy has them null.
  "created_at" timestamptz NOT NULL DEFAULT now(), -- When terra-fanout first wrote the row.
  "updated_at" timestamptz NOT NULL DEFAULT now(), -- When the row last changed.
  CONSTRAINT "terra_sleep_pkey" PRIMARY KEY ("payload_id")
);

CREATE INDEX IF NOT EXISTS "terra_sleep_user_start_idx" ON "public"."terra_sleep" ("user_id", "start_time");

CREATE OR REPLACE FUNCTION "public"."terra_sleep_newest_wins"() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF NEW."ordering_ts" < OLD."ordering_ts" THEN
    RETURN NULL; -- an older copy never overwrites a newer one
  END IF;
  NEW."created_at" := OLD."created_at";
  NEW."updated_at" := now();
  NEW."reference_id" := COALESCE(NEW."reference_id", OLD."reference_id");
  NEW."sleep_score" := COALESCE(NEW."sleep_score", OLD."sleep_score");
  NEW."readiness_score" := COALESCE(NEW."readiness_score", OLD."readiness_score");
  NEW."payload" := CASE WHEN jsonb_typeof(OLD."payload" #> '{data,0,data_enrichment}') = 'object' AND jsonb_typeof(NEW."payload" #> '{data,0}') = 'object'
      THEN jsonb_set(NEW."payload", '{data,0,data_enrichment}',
        (CASE WHEN jsonb_typeof(NEW."payload" #> '{data,0,data_enrichment}') = 'object' THEN NEW."payload" #> '{data,0,data_enrichment}' ELSE '{}'::jsonb END)
        || COALESCE((SELECT jsonb_object_agg(kept.key, kept.value) FROM jsonb_each(OLD."payload" #> '{data,0,data_enrichment}') AS kept
            WHERE COALESCE((NEW."payload" #> '{data,0,data_enrichment}') -> kept.key, 'null'::jsonb) = 'null'::jsonb), '{}'::jsonb))
      ELSE NEW."payload" END;
  RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER "terra_sleep_newest_wins" BEFORE UPDATE ON "public"."terra_sleep"
  FOR EACH ROW EXECUTE FUNCTION "public"."terra_sleep_newest_wins"();

ALTER TABLE "public"."terra_sleep" ENABLE ROW LEVEL SECURITY;

CREATE TABLE IF NOT EXISTS "public"."terra_body" (
  "payload_id" text NOT NULL,            -- The record identity (32 hex characters): one row per record, the key every write upserts on.
  "user_id" text NOT NULL,               -- Terra user id (`user.user_id`).
  "reference_id" text,                   -- Your own id for the user (`user.reference_id`).
  "data_type" text NOT NULL,             -- Terra event type, e.g. activity, sleep, daily.
  "provider" text,                       -- Terra provider, e.g. GARMIN.
  "summary_id" text,                     -- `metadata.summary_id` where the item has one.
  "start_time" timestamptz,              -- `metadata.start_time` as an instant (a time without offset is read as UTC; the payload keeps the original).
  "end_time" timestamptz,                -- `metadata.end_time` as an instant.
  "weight_kg" double precision,          -- measurements_data.day_avg_weight_kg, else the last measurement's weight_kg.
  "bmi" double precision,                -- measurements_data.day_avg_bmi, else the last measurement's BMI.
  "bodyfat_percentage" double precision, -- measurements_data.day_avg_bodyfat_percentage, else the last measurement's bodyfat_percentage.
  "ordering_ts" bigint NOT NULL,         -- X-Terra-Ordering-Timestamp (else the Kafka timestamp), unix ms. An update with an older value is ignored.
  "payload" jsonb NOT NULL,              -- The record as a Terra event (envelope plus its one data item). Stored data_enrichment scores are kept when a later copy has them null.
  "created_at" timestamptz NOT NULL DEFAULT now(), -- When terra-fanout first wrote the row.
  "updated_at" timestamptz NOT NULL DEFAULT now(), -- When the row last changed.
  CONSTRAINT "terra_body_pkey" PRIMARY KEY ("payload_id")
);

CREATE INDEX IF NOT EXISTS "terra_body_user_start_idx" ON "public"."terra_body" ("user_id", "start_time");

CREATE OR REPLACE FUNCTION "public"."terra_body_newest_wins"() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF NEW."ordering_ts" < OLD."ordering_ts" THEN
    RETURN NULL; -- an older copy never overwrites a newer one
  END IF;
  NEW."created_at" := OLD."created_at";
  NEW."updated_at" := now();
  NEW."reference_id" := COALESCE(NEW."reference_id", OLD."reference_id");
  NEW."payload" := CASE WHEN jsonb_typeof(OLD."payload" #> '{data,0,data_enrichment}') = 'object' AND jsonb_typeof(NEW."payload" #> '{data,0}') = 'object'
      THEN jsonb_set(NEW."payload", '{data,0,data_enrichment}',
        (CASE WHEN jsonb_typeof(NEW."payload" #> '{data,0,data_enrichment}') = 'object' THEN NEW."payload" #> '{data,0,data_enrichment}' ELSE '{}'::jsonb END)
        || COALESCE((SELECT jsonb_object_agg(kept.key, kept.value) FROM jsonb_each(OLD."payload" #> '{data,0,data_enrichment}') AS kept
            WHERE COALESCE((NEW."payload" #> '{data,0,data_enrichment}') -> kept.key, 'null'::jsonb) = 'null'::jsonb), '{}'::jsonb))
      ELSE NEW."payload" END;
  RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER "terra_body_newest_wins" BEFORE UPDATE ON "public"."terra_body"
  FOR EACH ROW EXECUTE FUNCTION "public"."terra_body_newest_wins"();

ALTER TABLE "public"."terra_body" ENABLE ROW LEVEL SECURITY;

CREATE TABLE IF NOT EXISTS "public"."terra_nutrition" (
  "payload_id" text NOT NULL,         -- The record identity (32 hex characters): one row per record, the key every write upserts on.
  "user_id" text NOT NULL,            -- Terra user id (`user.user_id`).
  "reference_id" text,                -- Your own id for the user (`user.reference_id`).
  "data_type" text NOT NULL,          -- Terra event type, e.g. activity, sleep, daily.
  "provider" text,                    -- Terra provider, e.g. GARMIN.
  "summary_id" text,                  -- `metadata.summary_id` where the item has one.
  "start_time" timestamptz,           -- `metadata.start_time` as an instant (a time without offset is read as UTC; the payload keeps the original).
  "end_time" timestamptz,             -- `metadata.end_time` as an instant.
  "calories" double precision,        -- summary.macros.calories.
  "protein_g" double precision,       -- summary.macros.protein_g.
  "carbohydrates_g" double precision, -- summary.macros.carbohydrates_g.
  "fat_g" double precision,           -- summary.macros.fat_g.
  "water_ml" double precision,        -- summary.water_ml.
  "ordering_ts" bigint NOT NULL,      -- X-Terra-Ordering-Timestamp (else the Kafka timestamp), unix ms. An update with an older value is ignored.
  "payload" jsonb NOT NULL,           -- The record as a Terra event (envelope plus its one data item). Stored data_enrichment scores are kept when a later copy has them null.
  "created_at" timestamptz NOT NULL DEFAULT now(), -- When terra-fanout first wrote the row.
  "updated_at" timestamptz NOT NULL DEFAULT now(), -- When the row last changed.
  CONSTRAINT "terra_nutrition_pkey" PRIMARY KEY ("payload_id")
);

CREATE INDEX IF NOT EXISTS "terra_nutrition_user_start_idx" ON "public"."terra_nutrition" ("user_id", "start_time");

CREATE OR REPLACE FUNCTION "public"."terra_nutrition_newest_wins"() RETURNS trigger
LANGUAGE plpgsql SET search_path = '' AS $$
BEGIN
  IF NEW."ordering_ts" < OLD."ordering_ts" THEN
    RETURN NULL; -- an older copy never overwrites a newer one
  END IF;
  NEW."created_at" := OLD."created_at";
  NEW."updated_at" := now();
  NEW."reference_id" := COALESCE(NEW."reference_id", OLD."reference_id");
  NEW."payload" := CASE WHEN jsonb_typeof(OLD."payload" #> '{data,0,data_enrichment}') = 'object' AND jsonb_typeof(NEW."payload" #> '{data,0}') = 'object'
      THEN jsonb_set(NEW."payload", '{data,0,data_enrichment}',
        (CASE WHEN jsonb_typeof(NEW."payload" #> '{data,0,data_enrichment}') = 'object' THEN NEW."payload" #> '{data,0,data_enrichment}' ELSE '{}'::jsonb END)
        || COALESCE((SELECT jsonb_object_agg(kept.key, kept.value) FROM jsonb_each(OLD."payload" #> '{data,0,data_enrichment}') AS kept
            WHERE COALESCE((NEW."payload" #> '{data,0,data_enrichment}') -> kept.key, 'null'::jsonb) = 'null'::jsonb), '{}'::jsonb))
      ELSE NEW."payload" END;
  RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER "terra_nutrition_newest_wins" BEFORE UPDATE ON "public"."terra_nutrition"
  FOR EACH ROW EXECUTE FUNCTION "public"."terra_nutrition_newest_wins"();

ALTER TABLE "public"."terra_nutrition" ENABLE ROW LEVEL SECURITY;
