CREATE TABLE "api_keys" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"kind" text NOT NULL,
	"name" text NOT NULL,
	"scopes" text[] NOT NULL,
	"key_hash" text NOT NULL,
	"redacted" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "api_keys_kind" CHECK ("api_keys"."kind" IN ('secret', 'write'))
);
--> statement-breakpoint
CREATE TABLE "audit_log" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"actor_type" text NOT NULL,
	"actor_id" text,
	"action" text NOT NULL,
	"entity_type" text NOT NULL,
	"entity_id" text NOT NULL,
	"before" jsonb,
	"after" jsonb,
	"request_id" text,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "idempotency_keys" (
	"workspace_id" text NOT NULL,
	"key" text NOT NULL,
	"request_hash" text NOT NULL,
	"response_status" bigint,
	"response_body" text,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "workspaces" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"sandbox" boolean DEFAULT false NOT NULL,
	"test_clock_time" timestamp with time zone,
	"test_clock_status" text DEFAULT 'ready' NOT NULL,
	"settings" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "workspaces_clock_only_in_sandbox" CHECK (("workspaces"."sandbox" AND "workspaces"."test_clock_time" IS NOT NULL) OR (NOT "workspaces"."sandbox" AND "workspaces"."test_clock_time" IS NULL)),
	CONSTRAINT "workspaces_clock_status" CHECK ("workspaces"."test_clock_status" IN ('ready', 'advancing'))
);
--> statement-breakpoint
CREATE TABLE "events" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"type" text NOT NULL,
	"data" jsonb NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "jobs" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text,
	"kind" text NOT NULL,
	"payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"run_at" timestamp with time zone NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"attempts" bigint DEFAULT 0 NOT NULL,
	"max_attempts" bigint DEFAULT 10 NOT NULL,
	"dedupe_key" text,
	"debounce_key" text,
	"locked_by" text,
	"locked_until" timestamp with time zone,
	"last_error" text,
	"created_at" timestamp with time zone NOT NULL,
	"finished_at" timestamp with time zone,
	CONSTRAINT "jobs_status" CHECK ("jobs"."status" IN ('pending', 'running', 'done', 'dead')),
	CONSTRAINT "jobs_attempts" CHECK ("jobs"."attempts" >= 0 AND "jobs"."max_attempts" >= 1)
);
--> statement-breakpoint
CREATE TABLE "billable_metric_filters" (
	"workspace_id" text NOT NULL,
	"metric_id" text NOT NULL,
	"position" bigint NOT NULL,
	"property" text NOT NULL,
	"operator" text NOT NULL,
	"values" text[] NOT NULL,
	CONSTRAINT "billable_metric_filters_metric_id_position_pk" PRIMARY KEY("metric_id","position"),
	CONSTRAINT "billable_metric_filters_operator" CHECK ("billable_metric_filters"."operator" IN ('eq', 'neq', 'in', 'not_in')),
	CONSTRAINT "billable_metric_filters_values" CHECK (cardinality("billable_metric_filters"."values") >= 1)
);
--> statement-breakpoint
CREATE TABLE "billable_metrics" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"event_name" text NOT NULL,
	"aggregation" text NOT NULL,
	"property" text,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "billable_metrics_aggregation" CHECK ("billable_metrics"."aggregation" IN ('count', 'sum', 'max', 'unique_count', 'latest')),
	CONSTRAINT "billable_metrics_property" CHECK ("billable_metrics"."aggregation" = 'count' OR "billable_metrics"."property" IS NOT NULL)
);
--> statement-breakpoint
CREATE TABLE "entitlements" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"plan_version_id" text NOT NULL,
	"feature_id" text NOT NULL,
	"enabled" boolean NOT NULL,
	"limit_value" bigint,
	"period" text,
	"billable_metric_id" text,
	CONSTRAINT "entitlements_limit" CHECK ("entitlements"."limit_value" IS NULL OR "entitlements"."limit_value" >= 0),
	CONSTRAINT "entitlements_period" CHECK ("entitlements"."period" IS NULL OR "entitlements"."period" IN ('month', 'year', 'none'))
);
--> statement-breakpoint
CREATE TABLE "features" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"type" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "features_type" CHECK ("features"."type" IN ('boolean', 'limit'))
);
--> statement-breakpoint
CREATE TABLE "plan_versions" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"plan_id" text NOT NULL,
	"version" bigint NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "plan_versions_version" CHECK ("plan_versions"."version" >= 1)
);
--> statement-breakpoint
CREATE TABLE "plans" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"key" text NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"motion" text NOT NULL,
	"visibility" text NOT NULL,
	"currency" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"trial_days" bigint DEFAULT 0 NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"current_version" bigint DEFAULT 1 NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "plans_motion" CHECK ("plans"."motion" IN ('self_serve', 'sales_assisted', 'sales_led')),
	CONSTRAINT "plans_visibility" CHECK ("plans"."visibility" IN ('public', 'contact_sales', 'quote_only')),
	CONSTRAINT "plans_status" CHECK ("plans"."status" IN ('active', 'archived')),
	CONSTRAINT "plans_trial_days" CHECK ("plans"."trial_days" >= 0 AND "plans"."trial_days" <= 730),
	CONSTRAINT "plans_current_version" CHECK ("plans"."current_version" >= 1)
);
--> statement-breakpoint
CREATE TABLE "price_tiers" (
	"workspace_id" text NOT NULL,
	"price_id" text NOT NULL,
	"position" bigint NOT NULL,
	"up_to" bigint,
	"unit_amount_decimal" numeric NOT NULL,
	"flat_amount" bigint NOT NULL,
	CONSTRAINT "price_tiers_price_id_position_pk" PRIMARY KEY("price_id","position"),
	CONSTRAINT "price_tiers_up_to" CHECK ("price_tiers"."up_to" IS NULL OR "price_tiers"."up_to" > 0),
	CONSTRAINT "price_tiers_unit_amount_decimal" CHECK ("price_tiers"."unit_amount_decimal" >= 0),
	CONSTRAINT "price_tiers_flat_amount" CHECK ("price_tiers"."flat_amount" >= 0)
);
--> statement-breakpoint
CREATE TABLE "prices" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"plan_id" text NOT NULL,
	"plan_version_id" text NOT NULL,
	"position" bigint NOT NULL,
	"nickname" text,
	"type" text NOT NULL,
	"interval" text NOT NULL,
	"currency" text NOT NULL,
	"charge_model" text,
	"unit_amount" bigint,
	"unit_amount_decimal" numeric,
	"package_size" bigint,
	"package_amount" bigint,
	"minimum_amount" bigint,
	"billable_metric_id" text,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "prices_type" CHECK ("prices"."type" IN ('flat', 'per_seat', 'usage')),
	CONSTRAINT "prices_interval" CHECK ("prices"."interval" IN ('month', 'year')),
	CONSTRAINT "prices_charge_model" CHECK ("prices"."charge_model" IS NULL OR "prices"."charge_model" IN ('per_unit', 'graduated', 'volume', 'package')),
	CONSTRAINT "prices_shape" CHECK (("prices"."type" = 'flat' AND "prices"."charge_model" IS NULL AND "prices"."unit_amount" IS NOT NULL AND "prices"."billable_metric_id" IS NULL)
       OR ("prices"."type" = 'per_seat' AND "prices"."charge_model" IN ('per_unit', 'graduated', 'volume') AND "prices"."billable_metric_id" IS NULL)
       OR ("prices"."type" = 'usage' AND "prices"."charge_model" IS NOT NULL AND "prices"."billable_metric_id" IS NOT NULL)),
	CONSTRAINT "prices_per_unit" CHECK ("prices"."charge_model" IS DISTINCT FROM 'per_unit' OR "prices"."unit_amount" IS NOT NULL OR "prices"."unit_amount_decimal" IS NOT NULL),
	CONSTRAINT "prices_package" CHECK ("prices"."charge_model" IS DISTINCT FROM 'package' OR ("prices"."package_size" IS NOT NULL AND "prices"."package_amount" IS NOT NULL)),
	CONSTRAINT "prices_unit_amount" CHECK ("prices"."unit_amount" IS NULL OR "prices"."unit_amount" >= 0),
	CONSTRAINT "prices_unit_amount_decimal" CHECK ("prices"."unit_amount_decimal" IS NULL OR "prices"."unit_amount_decimal" >= 0),
	CONSTRAINT "prices_package_size" CHECK ("prices"."package_size" IS NULL OR "prices"."package_size" > 0),
	CONSTRAINT "prices_package_amount" CHECK ("prices"."package_amount" IS NULL OR "prices"."package_amount" >= 0),
	CONSTRAINT "prices_minimum_amount" CHECK ("prices"."minimum_amount" IS NULL OR "prices"."minimum_amount" >= 0)
);
--> statement-breakpoint
CREATE TABLE "product_events" (
	"id" text NOT NULL,
	"workspace_id" text NOT NULL,
	"message_id" text NOT NULL,
	"type" text NOT NULL,
	"event" text,
	"user_id" text,
	"anonymous_id" text,
	"group_id" text,
	"account_id" text,
	"timestamp" timestamp with time zone NOT NULL,
	"received_at" timestamp with time zone NOT NULL,
	"sent_at" timestamp with time zone,
	"properties" jsonb,
	"traits" jsonb,
	"context" jsonb,
	CONSTRAINT "product_events_pkey" PRIMARY KEY("workspace_id","id"),
	CONSTRAINT "product_events_type" CHECK ("product_events"."type" IN ('track', 'identify', 'group', 'page', 'screen', 'alias')),
	CONSTRAINT "product_events_identity" CHECK ("product_events"."user_id" IS NOT NULL OR "product_events"."anonymous_id" IS NOT NULL)
);
--> statement-breakpoint
CREATE TABLE "account_activity" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"account_id" text NOT NULL,
	"type" text NOT NULL,
	"kind" text NOT NULL,
	"summary" text NOT NULL,
	"data" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"occurred_at" timestamp with time zone NOT NULL,
	"dedupe_key" text,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "account_activity_type" CHECK ("account_activity"."type" IN ('identity', 'merge'))
);
--> statement-breakpoint
CREATE TABLE "account_domains" (
	"workspace_id" text NOT NULL,
	"account_id" text NOT NULL,
	"domain" text NOT NULL,
	"claimed" boolean NOT NULL,
	"source" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "account_domains_source" CHECK ("account_domains"."source" IN ('api', 'group'))
);
--> statement-breakpoint
CREATE TABLE "account_memberships" (
	"workspace_id" text NOT NULL,
	"account_id" text NOT NULL,
	"contact_id" text NOT NULL,
	"first_seen_at" timestamp with time zone NOT NULL,
	"last_seen_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "accounts" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"external_id" text,
	"name" text,
	"status" text DEFAULT 'active' NOT NULL,
	"merged_into" text,
	"merged_at" timestamp with time zone,
	"employees" bigint,
	"industry" text,
	"country" text,
	"segment" text,
	"motion" text,
	"owner_id" text,
	"lifecycle_stage" text,
	"traits" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"traits_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "accounts_status" CHECK ("accounts"."status" IN ('active', 'merged')),
	CONSTRAINT "accounts_merged" CHECK (("accounts"."status" = 'merged') = ("accounts"."merged_into" IS NOT NULL) AND "accounts"."merged_into" IS DISTINCT FROM "accounts"."id"),
	CONSTRAINT "accounts_employees" CHECK ("accounts"."employees" IS NULL OR "accounts"."employees" >= 0),
	CONSTRAINT "accounts_segment" CHECK ("accounts"."segment" IS NULL OR "accounts"."segment" IN ('smb', 'mid_market', 'enterprise')),
	CONSTRAINT "accounts_motion" CHECK ("accounts"."motion" IS NULL OR "accounts"."motion" IN ('self_serve', 'sales_assisted', 'sales_led'))
);
--> statement-breakpoint
CREATE TABLE "contact_aliases" (
	"workspace_id" text NOT NULL,
	"alias" text NOT NULL,
	"contact_id" text NOT NULL,
	"kind" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "contact_aliases_kind" CHECK ("contact_aliases"."kind" IN ('anonymous', 'previous_id'))
);
--> statement-breakpoint
CREATE TABLE "contacts" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"user_id" text,
	"email" text,
	"email_domain" text,
	"name" text,
	"company_external_id" text,
	"traits" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"traits_at" timestamp with time zone,
	"account_id" text,
	"account_source" text,
	"account_linked_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "contacts_account_source" CHECK (("contacts"."account_id" IS NULL) = ("contacts"."account_source" IS NULL) AND ("contacts"."account_source" IS NULL OR "contacts"."account_source" IN ('group', 'api', 'company', 'domain')))
);
--> statement-breakpoint
CREATE TABLE "identity_epochs" (
	"workspace_id" text PRIMARY KEY NOT NULL,
	"epoch" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "account_balances" (
	"workspace_id" text NOT NULL,
	"account_id" text NOT NULL,
	"currency" text NOT NULL,
	"credit" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "account_balances_credit" CHECK ("account_balances"."credit" >= 0)
);
--> statement-breakpoint
CREATE TABLE "credit_notes" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"invoice_id" text,
	"account_id" text NOT NULL,
	"subscription_id" text,
	"number" text NOT NULL,
	"reason" text NOT NULL,
	"currency" text NOT NULL,
	"amount" bigint NOT NULL,
	"applied_to_invoice" bigint DEFAULT 0 NOT NULL,
	"credited_to_balance" bigint DEFAULT 0 NOT NULL,
	"memo" text,
	"source_key" text,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "credit_notes_amount" CHECK ("credit_notes"."amount" > 0 AND "credit_notes"."applied_to_invoice" >= 0 AND "credit_notes"."credited_to_balance" >= 0 AND "credit_notes"."applied_to_invoice" + "credit_notes"."credited_to_balance" = "credit_notes"."amount"),
	CONSTRAINT "credit_notes_reason" CHECK ("credit_notes"."reason" IN ('proration', 'correction', 'duplicate', 'order_change', 'product_unsatisfactory', 'other'))
);
--> statement-breakpoint
CREATE TABLE "invoice_lines" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"invoice_id" text NOT NULL,
	"subscription_id" text,
	"kind" text NOT NULL,
	"charge_key" text NOT NULL,
	"price_id" text,
	"description" text NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"period_end" timestamp with time zone NOT NULL,
	"quantity" numeric NOT NULL,
	"unit_amount_decimal" numeric,
	"amount" bigint NOT NULL,
	"currency" text NOT NULL,
	"position" integer NOT NULL,
	CONSTRAINT "invoice_lines_kind" CHECK ("invoice_lines"."kind" IN ('recurring', 'usage', 'proration', 'minimum', 'adjustment')),
	CONSTRAINT "invoice_lines_period" CHECK ("invoice_lines"."period_end" >= "invoice_lines"."period_start")
);
--> statement-breakpoint
CREATE TABLE "invoices" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"account_id" text NOT NULL,
	"subscription_id" text,
	"number" text,
	"status" text NOT NULL,
	"billing_reason" text NOT NULL,
	"currency" text NOT NULL,
	"collection_method" text NOT NULL,
	"days_until_due" integer,
	"period_start" timestamp with time zone,
	"period_end" timestamp with time zone,
	"subtotal" bigint DEFAULT 0 NOT NULL,
	"balance_applied" bigint DEFAULT 0 NOT NULL,
	"total" bigint DEFAULT 0 NOT NULL,
	"amount_due" bigint DEFAULT 0 NOT NULL,
	"amount_paid" bigint DEFAULT 0 NOT NULL,
	"amount_credited" bigint DEFAULT 0 NOT NULL,
	"due_at" timestamp with time zone,
	"attempt_count" integer DEFAULT 0 NOT NULL,
	"next_payment_attempt" timestamp with time zone,
	"overdue_at" timestamp with time zone,
	"finalized_at" timestamp with time zone,
	"paid_at" timestamp with time zone,
	"voided_at" timestamp with time zone,
	"marked_uncollectible_at" timestamp with time zone,
	"memo" text,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "invoices_status" CHECK ("invoices"."status" IN ('draft', 'open', 'paid', 'void', 'uncollectible')),
	CONSTRAINT "invoices_numbered_when_final" CHECK (("invoices"."status" = 'draft') = ("invoices"."number" IS NULL)),
	CONSTRAINT "invoices_amounts" CHECK ("invoices"."amount_due" >= 0 AND "invoices"."amount_paid" >= 0 AND "invoices"."balance_applied" >= 0 AND "invoices"."amount_credited" >= 0 AND "invoices"."amount_due" = "invoices"."total" - "invoices"."balance_applied"),
	CONSTRAINT "invoices_paid_le_due" CHECK ("invoices"."amount_paid" + "invoices"."amount_credited" <= "invoices"."amount_due")
);
--> statement-breakpoint
CREATE TABLE "number_sequences" (
	"workspace_id" text NOT NULL,
	"kind" text NOT NULL,
	"next" bigint NOT NULL,
	CONSTRAINT "number_sequences_next" CHECK ("number_sequences"."next" >= 1)
);
--> statement-breakpoint
CREATE TABLE "subscription_events" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"subscription_id" text NOT NULL,
	"type" text NOT NULL,
	"effective_at" timestamp with time zone NOT NULL,
	"before" jsonb,
	"after" jsonb,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "subscription_price_overrides" (
	"subscription_id" text NOT NULL,
	"workspace_id" text NOT NULL,
	"price_id" text NOT NULL,
	"unit_amount" bigint NOT NULL,
	CONSTRAINT "spo_amount" CHECK ("subscription_price_overrides"."unit_amount" >= 0)
);
--> statement-breakpoint
CREATE TABLE "subscription_schedules" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"subscription_id" text NOT NULL,
	"effective_at" timestamp with time zone NOT NULL,
	"change" jsonb NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"source" text,
	"created_at" timestamp with time zone NOT NULL,
	"applied_at" timestamp with time zone,
	CONSTRAINT "subscription_schedules_status" CHECK ("subscription_schedules"."status" IN ('pending', 'applied', 'canceled'))
);
--> statement-breakpoint
CREATE TABLE "subscriptions" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"account_id" text NOT NULL,
	"status" text NOT NULL,
	"plan_id" text NOT NULL,
	"plan_version_id" text NOT NULL,
	"interval" text NOT NULL,
	"currency" text NOT NULL,
	"quantity" integer DEFAULT 1 NOT NULL,
	"collection_method" text NOT NULL,
	"days_until_due" integer,
	"payment_method_id" text,
	"anchor_day" integer NOT NULL,
	"current_period_start" timestamp with time zone NOT NULL,
	"current_period_end" timestamp with time zone NOT NULL,
	"usage_since" timestamp with time zone NOT NULL,
	"trial_end" timestamp with time zone,
	"cancel_at_period_end" boolean DEFAULT false NOT NULL,
	"canceled_at" timestamp with time zone,
	"ended_at" timestamp with time zone,
	"dunning_final_action" text DEFAULT 'cancel' NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "subscriptions_status" CHECK ("subscriptions"."status" IN ('scheduled', 'trialing', 'active', 'past_due', 'canceled', 'unpaid')),
	CONSTRAINT "subscriptions_interval" CHECK ("subscriptions"."interval" IN ('month', 'year')),
	CONSTRAINT "subscriptions_collection" CHECK ("subscriptions"."collection_method" IN ('charge_automatically', 'send_invoice')),
	CONSTRAINT "subscriptions_net_terms" CHECK (("subscriptions"."collection_method" = 'send_invoice') = ("subscriptions"."days_until_due" IS NOT NULL)),
	CONSTRAINT "subscriptions_quantity" CHECK ("subscriptions"."quantity" >= 1),
	CONSTRAINT "subscriptions_anchor" CHECK ("subscriptions"."anchor_day" BETWEEN 1 AND 31),
	CONSTRAINT "subscriptions_period" CHECK ("subscriptions"."current_period_end" > "subscriptions"."current_period_start"),
	CONSTRAINT "subscriptions_final_action" CHECK ("subscriptions"."dunning_final_action" IN ('cancel', 'mark_unpaid', 'past_due'))
);
--> statement-breakpoint
CREATE TABLE "usage_alerts" (
	"workspace_id" text NOT NULL,
	"subscription_id" text NOT NULL,
	"feature_key" text NOT NULL,
	"period_start" timestamp with time zone NOT NULL,
	"threshold_percent" integer NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "payment_methods" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"account_id" text NOT NULL,
	"type" text NOT NULL,
	"status" text DEFAULT 'active' NOT NULL,
	"processor" text,
	"processor_token" text,
	"card_brand" text,
	"card_last4" text,
	"card_exp_month" bigint,
	"card_exp_year" bigint,
	"card_fingerprint" text,
	"is_default" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"detached_at" timestamp with time zone,
	CONSTRAINT "payment_methods_type" CHECK ("payment_methods"."type" IN ('card', 'bank_transfer')),
	CONSTRAINT "payment_methods_status" CHECK ("payment_methods"."status" IN ('active', 'detached')),
	CONSTRAINT "payment_methods_detached_at" CHECK (("payment_methods"."status" = 'detached') = ("payment_methods"."detached_at" IS NOT NULL)),
	CONSTRAINT "payment_methods_card_fields" CHECK (("payment_methods"."type" = 'card' AND "payment_methods"."processor" IS NOT NULL AND "payment_methods"."processor_token" IS NOT NULL AND "payment_methods"."card_brand" IS NOT NULL
          AND "payment_methods"."card_last4" ~ '^[0-9]{4}$' AND "payment_methods"."card_exp_month" BETWEEN 1 AND 12 AND "payment_methods"."card_exp_year" BETWEEN 2000 AND 2099
          AND "payment_methods"."card_fingerprint" IS NOT NULL)
        OR ("payment_methods"."type" = 'bank_transfer' AND "payment_methods"."processor_token" IS NULL AND "payment_methods"."card_last4" IS NULL AND "payment_methods"."card_fingerprint" IS NULL)),
	CONSTRAINT "payment_methods_default_active_card" CHECK (NOT "payment_methods"."is_default" OR ("payment_methods"."status" = 'active' AND "payment_methods"."type" = 'card'))
);
--> statement-breakpoint
CREATE TABLE "payments" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"invoice_id" text NOT NULL,
	"account_id" text NOT NULL,
	"payment_method_id" text,
	"amount" bigint NOT NULL,
	"currency" text NOT NULL,
	"status" text NOT NULL,
	"kind" text NOT NULL,
	"method" text NOT NULL,
	"failure_code" text,
	"failure_message" text,
	"processor" text,
	"processor_charge_id" text,
	"idempotency_key" text NOT NULL,
	"attempt" bigint,
	"reference" text,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "payments_amount" CHECK ("payments"."amount" > 0),
	CONSTRAINT "payments_currency" CHECK ("payments"."currency" ~ '^[a-z]{3}$'),
	CONSTRAINT "payments_status" CHECK ("payments"."status" IN ('succeeded', 'failed')),
	CONSTRAINT "payments_method" CHECK ("payments"."method" IN ('card', 'bank_transfer', 'wire', 'check', 'other')),
	CONSTRAINT "payments_kind" CHECK (("payments"."kind" = 'card' AND "payments"."method" = 'card' AND "payments"."payment_method_id" IS NOT NULL AND "payments"."attempt" IS NOT NULL AND "payments"."attempt" >= 1)
        OR ("payments"."kind" = 'manual' AND "payments"."method" <> 'card' AND "payments"."attempt" IS NULL AND "payments"."status" = 'succeeded')),
	CONSTRAINT "payments_failure" CHECK (("payments"."status" = 'failed') = ("payments"."failure_code" IS NOT NULL))
);
--> statement-breakpoint
CREATE TABLE "sandbox_accounts" (
	"workspace_id" text PRIMARY KEY NOT NULL,
	"fingerprint_salt" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "sandbox_cards" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"behavior" text NOT NULL,
	"brand" text NOT NULL,
	"last4" text NOT NULL,
	"exp_month" bigint NOT NULL,
	"exp_year" bigint NOT NULL,
	"fingerprint" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "sandbox_cards_last4" CHECK ("sandbox_cards"."last4" ~ '^[0-9]{4}$')
);
--> statement-breakpoint
CREATE TABLE "sandbox_charges" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"idempotency_key" text NOT NULL,
	"key_prefix" text NOT NULL,
	"token" text NOT NULL,
	"amount" bigint NOT NULL,
	"currency" text NOT NULL,
	"outcome" text NOT NULL,
	"code" text,
	"message" text,
	"description" text,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "sandbox_charges_amount" CHECK ("sandbox_charges"."amount" > 0),
	CONSTRAINT "sandbox_charges_outcome" CHECK ("sandbox_charges"."outcome" IN ('succeeded', 'declined', 'failed')),
	CONSTRAINT "sandbox_charges_code" CHECK (("sandbox_charges"."outcome" = 'succeeded') = ("sandbox_charges"."code" IS NULL))
);
--> statement-breakpoint
CREATE TABLE "enrichment_cache" (
	"workspace_id" text NOT NULL,
	"provider" text NOT NULL,
	"domain" text NOT NULL,
	"found" boolean NOT NULL,
	"data" jsonb,
	"fetched_at" timestamp with time zone NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "enrichment_cache_pk" PRIMARY KEY("workspace_id","provider","domain")
);
--> statement-breakpoint
CREATE TABLE "scoring_backtests" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"status" text NOT NULL,
	"params" jsonb NOT NULL,
	"report" jsonb,
	"error" text,
	"created_at" timestamp with time zone NOT NULL,
	"completed_at" timestamp with time zone,
	CONSTRAINT "scoring_backtests_status" CHECK ("scoring_backtests"."status" IN ('pending', 'running', 'succeeded', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "scoring_dirty_accounts" (
	"workspace_id" text NOT NULL,
	"account_id" text NOT NULL,
	"marked_at" timestamp with time zone NOT NULL,
	"ready_at" timestamp with time zone NOT NULL,
	CONSTRAINT "scoring_dirty_accounts_pk" PRIMARY KEY("workspace_id","account_id")
);
--> statement-breakpoint
CREATE TABLE "scoring_firmographics" (
	"workspace_id" text NOT NULL,
	"account_id" text NOT NULL,
	"known_at" timestamp with time zone NOT NULL,
	"domain" text,
	"employees" integer,
	"industry" text,
	"country" text,
	"tech_stack" jsonb NOT NULL,
	"sources" jsonb NOT NULL,
	CONSTRAINT "scoring_firmographics_pk" PRIMARY KEY("workspace_id","account_id","known_at"),
	CONSTRAINT "scoring_firmographics_employees" CHECK ("scoring_firmographics"."employees" IS NULL OR "scoring_firmographics"."employees" >= 0)
);
--> statement-breakpoint
CREATE TABLE "scoring_holds" (
	"workspace_id" text NOT NULL,
	"account_id" text NOT NULL,
	"until" timestamp with time zone NOT NULL,
	"rescored_at" timestamp with time zone NOT NULL,
	CONSTRAINT "scoring_holds_pk" PRIMARY KEY("workspace_id","account_id")
);
--> statement-breakpoint
CREATE TABLE "scoring_models" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"version" integer NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"status" text NOT NULL,
	"config" jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	"activated_at" timestamp with time zone,
	"archived_at" timestamp with time zone,
	CONSTRAINT "scoring_models_status" CHECK ("scoring_models"."status" IN ('draft', 'shadow', 'active', 'archived')),
	CONSTRAINT "scoring_models_version_positive" CHECK ("scoring_models"."version" >= 1)
);
--> statement-breakpoint
CREATE TABLE "scoring_scores" (
	"workspace_id" text NOT NULL,
	"model_id" text NOT NULL,
	"account_id" text NOT NULL,
	"total" numeric(5, 1) NOT NULL,
	"usage" numeric(5, 1) NOT NULL,
	"fit" numeric(5, 1) NOT NULL,
	"behavior" numeric(5, 1) NOT NULL,
	"level" text NOT NULL,
	"enterprise_fit" boolean NOT NULL,
	"disqualified_by" text,
	"signals" jsonb NOT NULL,
	"indicators" jsonb NOT NULL,
	"points_hash" text NOT NULL,
	"inputs_hash" text NOT NULL,
	"computed_at" timestamp with time zone NOT NULL,
	"changed_at" timestamp with time zone NOT NULL,
	CONSTRAINT "scoring_scores_pk" PRIMARY KEY("workspace_id","model_id","account_id"),
	CONSTRAINT "scoring_scores_level" CHECK ("scoring_scores"."level" IN ('none', 'sales_assist', 'enterprise')),
	CONSTRAINT "scoring_scores_range" CHECK ("scoring_scores"."total" BETWEEN 0 AND 100 AND "scoring_scores"."usage" BETWEEN 0 AND 100 AND "scoring_scores"."fit" BETWEEN 0 AND 100 AND "scoring_scores"."behavior" BETWEEN 0 AND 100)
);
--> statement-breakpoint
CREATE TABLE "scoring_snapshots" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"account_id" text NOT NULL,
	"model_id" text NOT NULL,
	"model_version" integer NOT NULL,
	"total" numeric(5, 1) NOT NULL,
	"usage" numeric(5, 1) NOT NULL,
	"fit" numeric(5, 1) NOT NULL,
	"behavior" numeric(5, 1) NOT NULL,
	"level" text NOT NULL,
	"enterprise_fit" boolean NOT NULL,
	"disqualified_by" text,
	"signals" jsonb NOT NULL,
	"indicators" jsonb NOT NULL,
	"reason" text NOT NULL,
	"computed_at" timestamp with time zone NOT NULL,
	CONSTRAINT "scoring_snapshots_level" CHECK ("scoring_snapshots"."level" IN ('none', 'sales_assist', 'enterprise')),
	CONSTRAINT "scoring_snapshots_reason" CHECK ("scoring_snapshots"."reason" IN ('signup', 'event', 'recompute', 'firmographics', 'read'))
);
--> statement-breakpoint
CREATE TABLE "scoring_state" (
	"workspace_id" text PRIMARY KEY NOT NULL,
	"sweep_watermark" text,
	"last_recompute_at" timestamp with time zone,
	"last_flush_at" timestamp with time zone,
	"last_sweep_at" timestamp with time zone,
	"hot_release_at" timestamp with time zone,
	"updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "checkout_sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"mode" text NOT NULL,
	"plan_id" text NOT NULL,
	"intervals" text[] NOT NULL,
	"default_interval" text NOT NULL,
	"quantity" integer DEFAULT 1 NOT NULL,
	"success_url" text NOT NULL,
	"cancel_url" text NOT NULL,
	"prefill_account_id" text,
	"customer_email" text,
	"status" text DEFAULT 'open' NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"account_id" text,
	"contact_id" text,
	"subscription_id" text,
	"invoice_id" text,
	"payment_method_id" text,
	"hand_raise_id" text,
	"completed_at" timestamp with time zone,
	"failed_attempts" integer DEFAULT 0 NOT NULL,
	"last_error_code" text,
	"last_error_message" text,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp with time zone NOT NULL,
	CONSTRAINT "checkout_sessions_mode" CHECK ("checkout_sessions"."mode" IN ('subscription', 'contact_sales')),
	CONSTRAINT "checkout_sessions_status" CHECK ("checkout_sessions"."status" IN ('open', 'complete')),
	CONSTRAINT "checkout_sessions_quantity" CHECK ("checkout_sessions"."quantity" >= 1),
	CONSTRAINT "checkout_sessions_complete" CHECK (("checkout_sessions"."status" = 'complete') = ("checkout_sessions"."completed_at" IS NOT NULL))
);
--> statement-breakpoint
CREATE TABLE "hand_raises" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"account_id" text NOT NULL,
	"contact_id" text NOT NULL,
	"plan_id" text,
	"source" text NOT NULL,
	"source_id" text,
	"email" text NOT NULL,
	"name" text,
	"company" text,
	"message" text,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "hosted_page_secrets" (
	"workspace_id" text PRIMARY KEY NOT NULL,
	"secret" text NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "portal_sessions" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"account_id" text NOT NULL,
	"return_url" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "upgrade_policies" (
	"workspace_id" text PRIMARY KEY NOT NULL,
	"large_upgrade_arr_threshold" bigint NOT NULL,
	"currency" text NOT NULL,
	"annual_commitment_discount_percent" numeric NOT NULL,
	"net_terms_allowed_motions" text[] NOT NULL,
	"card_allowed_motions" text[] NOT NULL,
	"net_terms_days" integer[] NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "upgrade_policies_threshold" CHECK ("upgrade_policies"."large_upgrade_arr_threshold" >= 0),
	CONSTRAINT "upgrade_policies_discount" CHECK ("upgrade_policies"."annual_commitment_discount_percent" >= 0 AND "upgrade_policies"."annual_commitment_discount_percent" < 100)
);
--> statement-breakpoint
CREATE TABLE "quote_lines" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"quote_id" text NOT NULL,
	"price_id" text NOT NULL,
	"position" integer NOT NULL,
	"unit_amount" bigint,
	"discount_percent" numeric,
	"discount_amount" bigint,
	CONSTRAINT "quote_lines_amounts" CHECK (("quote_lines"."unit_amount" IS NULL OR "quote_lines"."unit_amount" >= 0) AND ("quote_lines"."discount_amount" IS NULL OR "quote_lines"."discount_amount" > 0)),
	CONSTRAINT "quote_lines_one_discount" CHECK ("quote_lines"."discount_percent" IS NULL OR "quote_lines"."discount_amount" IS NULL),
	CONSTRAINT "quote_lines_percent" CHECK ("quote_lines"."discount_percent" IS NULL OR ("quote_lines"."discount_percent" > 0 AND "quote_lines"."discount_percent" <= 100))
);
--> statement-breakpoint
CREATE TABLE "quote_settings" (
	"workspace_id" text PRIMARY KEY NOT NULL,
	"max_discount_percent" numeric NOT NULL,
	"tcv_threshold" bigint NOT NULL,
	"currency" text NOT NULL,
	"approver_role" text NOT NULL,
	"default_expiry_days" integer NOT NULL,
	"token_secret" text NOT NULL,
	"next_number" bigint DEFAULT 1 NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "quote_settings_discount" CHECK ("quote_settings"."max_discount_percent" >= 0 AND "quote_settings"."max_discount_percent" <= 100),
	CONSTRAINT "quote_settings_tcv" CHECK ("quote_settings"."tcv_threshold" >= 0),
	CONSTRAINT "quote_settings_expiry" CHECK ("quote_settings"."default_expiry_days" BETWEEN 1 AND 365)
);
--> statement-breakpoint
CREATE TABLE "quotes" (
	"id" text PRIMARY KEY NOT NULL,
	"workspace_id" text NOT NULL,
	"number" text NOT NULL,
	"status" text NOT NULL,
	"account_id" text NOT NULL,
	"plan_id" text NOT NULL,
	"plan_version_id" text NOT NULL,
	"currency" text NOT NULL,
	"interval" text NOT NULL,
	"quantity" integer NOT NULL,
	"term_months" integer NOT NULL,
	"start_date" timestamp with time zone,
	"collection_method" text NOT NULL,
	"days_until_due" integer,
	"expires_at" timestamp with time zone NOT NULL,
	"discount_type" text,
	"discount_percent" numeric,
	"discount_amount" bigint,
	"free_months" integer DEFAULT 0 NOT NULL,
	"requested_by_customer" boolean DEFAULT false NOT NULL,
	"source_subscription_id" text,
	"memo" text,
	"approval_reasons" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"approval" jsonb,
	"acceptance" jsonb,
	"decline_reason" text,
	"accepted_preview" jsonb,
	"conversion_type" text,
	"subscription_id" text,
	"contract_start" timestamp with time zone,
	"created_by" jsonb NOT NULL,
	"submitted_at" timestamp with time zone,
	"approved_at" timestamp with time zone,
	"sent_at" timestamp with time zone,
	"accepted_at" timestamp with time zone,
	"declined_at" timestamp with time zone,
	"expired_at" timestamp with time zone,
	"converted_at" timestamp with time zone,
	"created_at" timestamp with time zone NOT NULL,
	"updated_at" timestamp with time zone NOT NULL,
	CONSTRAINT "quotes_status" CHECK ("quotes"."status" IN ('draft', 'pending_approval', 'approved', 'sent', 'accepted', 'declined', 'expired', 'converted')),
	CONSTRAINT "quotes_interval" CHECK ("quotes"."interval" IN ('month', 'year')),
	CONSTRAINT "quotes_quantity" CHECK ("quotes"."quantity" >= 1),
	CONSTRAINT "quotes_term" CHECK ("quotes"."term_months" >= 1 AND "quotes"."term_months" <= 120),
	CONSTRAINT "quotes_free_months" CHECK ("quotes"."free_months" >= 0 AND "quotes"."free_months" < "quotes"."term_months"),
	CONSTRAINT "quotes_collection" CHECK ("quotes"."collection_method" IN ('charge_automatically', 'send_invoice')),
	CONSTRAINT "quotes_net_terms" CHECK (("quotes"."collection_method" = 'send_invoice') = ("quotes"."days_until_due" IS NOT NULL)),
	CONSTRAINT "quotes_discount" CHECK (("quotes"."discount_type" IS NULL AND "quotes"."discount_percent" IS NULL AND "quotes"."discount_amount" IS NULL)
        OR ("quotes"."discount_type" = 'percent' AND "quotes"."discount_percent" > 0 AND "quotes"."discount_percent" <= 100 AND "quotes"."discount_amount" IS NULL)
        OR ("quotes"."discount_type" = 'amount' AND "quotes"."discount_amount" > 0 AND "quotes"."discount_percent" IS NULL))
);
--> statement-breakpoint
CREATE TABLE "usage_rollup_values" (
	"workspace_id" text NOT NULL,
	"account_id" text NOT NULL,
	"metric_id" text NOT NULL,
	"bucket_start" timestamp with time zone NOT NULL,
	"value" text NOT NULL,
	"shard" smallint NOT NULL,
	CONSTRAINT "usage_rollup_values_workspace_id_account_id_metric_id_bucket_start_value_shard_pk" PRIMARY KEY("workspace_id","account_id","metric_id","bucket_start","value","shard")
);
--> statement-breakpoint
CREATE TABLE "usage_rollups" (
	"workspace_id" text NOT NULL,
	"account_id" text NOT NULL,
	"metric_id" text NOT NULL,
	"bucket_start" timestamp with time zone NOT NULL,
	"shard" smallint NOT NULL,
	"event_count" bigint NOT NULL,
	"sum" numeric NOT NULL,
	"max" numeric,
	"latest_at" timestamp with time zone,
	"latest_id" text,
	"latest_value" numeric,
	CONSTRAINT "usage_rollups_workspace_id_account_id_metric_id_bucket_start_shard_pk" PRIMARY KEY("workspace_id","account_id","metric_id","bucket_start","shard"),
	CONSTRAINT "usage_rollups_event_count" CHECK ("usage_rollups"."event_count" > 0),
	CONSTRAINT "usage_rollups_latest" CHECK (("usage_rollups"."latest_at" IS NULL) = ("usage_rollups"."latest_value" IS NULL) AND ("usage_rollups"."latest_at" IS NULL) = ("usage_rollups"."latest_id" IS NULL))
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "audit_log" ADD CONSTRAINT "audit_log_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "idempotency_keys" ADD CONSTRAINT "idempotency_keys_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "billable_metric_filters" ADD CONSTRAINT "billable_metric_filters_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "billable_metric_filters" ADD CONSTRAINT "billable_metric_filters_metric_id_billable_metrics_id_fk" FOREIGN KEY ("metric_id") REFERENCES "public"."billable_metrics"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "billable_metrics" ADD CONSTRAINT "billable_metrics_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "entitlements" ADD CONSTRAINT "entitlements_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "entitlements" ADD CONSTRAINT "entitlements_plan_version_id_plan_versions_id_fk" FOREIGN KEY ("plan_version_id") REFERENCES "public"."plan_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "entitlements" ADD CONSTRAINT "entitlements_feature_id_features_id_fk" FOREIGN KEY ("feature_id") REFERENCES "public"."features"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "entitlements" ADD CONSTRAINT "entitlements_billable_metric_id_billable_metrics_id_fk" FOREIGN KEY ("billable_metric_id") REFERENCES "public"."billable_metrics"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "features" ADD CONSTRAINT "features_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "plan_versions" ADD CONSTRAINT "plan_versions_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "plan_versions" ADD CONSTRAINT "plan_versions_plan_id_plans_id_fk" FOREIGN KEY ("plan_id") REFERENCES "public"."plans"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "plans" ADD CONSTRAINT "plans_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "price_tiers" ADD CONSTRAINT "price_tiers_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "price_tiers" ADD CONSTRAINT "price_tiers_price_id_prices_id_fk" FOREIGN KEY ("price_id") REFERENCES "public"."prices"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "prices" ADD CONSTRAINT "prices_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "prices" ADD CONSTRAINT "prices_plan_id_plans_id_fk" FOREIGN KEY ("plan_id") REFERENCES "public"."plans"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "prices" ADD CONSTRAINT "prices_plan_version_id_plan_versions_id_fk" FOREIGN KEY ("plan_version_id") REFERENCES "public"."plan_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "prices" ADD CONSTRAINT "prices_billable_metric_id_billable_metrics_id_fk" FOREIGN KEY ("billable_metric_id") REFERENCES "public"."billable_metrics"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "account_activity" ADD CONSTRAINT "account_activity_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "account_activity" ADD CONSTRAINT "account_activity_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "account_domains" ADD CONSTRAINT "account_domains_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "account_domains" ADD CONSTRAINT "account_domains_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "account_memberships" ADD CONSTRAINT "account_memberships_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "account_memberships" ADD CONSTRAINT "account_memberships_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "account_memberships" ADD CONSTRAINT "account_memberships_contact_id_contacts_id_fk" FOREIGN KEY ("contact_id") REFERENCES "public"."contacts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "accounts" ADD CONSTRAINT "accounts_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contact_aliases" ADD CONSTRAINT "contact_aliases_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contact_aliases" ADD CONSTRAINT "contact_aliases_contact_id_contacts_id_fk" FOREIGN KEY ("contact_id") REFERENCES "public"."contacts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contacts" ADD CONSTRAINT "contacts_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "contacts" ADD CONSTRAINT "contacts_account_id_accounts_id_fk" FOREIGN KEY ("account_id") REFERENCES "public"."accounts"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "identity_epochs" ADD CONSTRAINT "identity_epochs_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_methods" ADD CONSTRAINT "payment_methods_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payments" ADD CONSTRAINT "payments_payment_method_id_payment_methods_id_fk" FOREIGN KEY ("payment_method_id") REFERENCES "public"."payment_methods"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sandbox_accounts" ADD CONSTRAINT "sandbox_accounts_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sandbox_cards" ADD CONSTRAINT "sandbox_cards_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sandbox_charges" ADD CONSTRAINT "sandbox_charges_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_hash" ON "api_keys" USING btree ("key_hash");--> statement-breakpoint
CREATE INDEX "api_keys_workspace" ON "api_keys" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE INDEX "audit_log_workspace" ON "audit_log" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE INDEX "audit_log_entity" ON "audit_log" USING btree ("workspace_id","entity_id");--> statement-breakpoint
CREATE UNIQUE INDEX "idempotency_keys_pk" ON "idempotency_keys" USING btree ("workspace_id","key");--> statement-breakpoint
CREATE INDEX "idempotency_keys_created" ON "idempotency_keys" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "events_workspace" ON "events" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE INDEX "events_type" ON "events" USING btree ("workspace_id","type","id");--> statement-breakpoint
CREATE INDEX "jobs_due" ON "jobs" USING btree ("status","run_at") WHERE "jobs"."status" IN ('pending', 'running');--> statement-breakpoint
CREATE INDEX "jobs_workspace_due" ON "jobs" USING btree ("workspace_id","run_at") WHERE "jobs"."status" IN ('pending', 'running');--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_dedupe" ON "jobs" USING btree (coalesce("workspace_id", ''),"dedupe_key") WHERE "jobs"."dedupe_key" IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "jobs_debounce" ON "jobs" USING btree (coalesce("workspace_id", ''),"debounce_key") WHERE "jobs"."debounce_key" IS NOT NULL AND "jobs"."status" = 'pending' AND "jobs"."attempts" = 0;--> statement-breakpoint
CREATE UNIQUE INDEX "billable_metrics_workspace_key" ON "billable_metrics" USING btree ("workspace_id","key");--> statement-breakpoint
CREATE INDEX "billable_metrics_event" ON "billable_metrics" USING btree ("workspace_id","event_name");--> statement-breakpoint
CREATE UNIQUE INDEX "entitlements_version_feature" ON "entitlements" USING btree ("workspace_id","plan_version_id","feature_id");--> statement-breakpoint
CREATE UNIQUE INDEX "features_workspace_key" ON "features" USING btree ("workspace_id","key");--> statement-breakpoint
CREATE UNIQUE INDEX "plan_versions_plan_version" ON "plan_versions" USING btree ("workspace_id","plan_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "plans_workspace_key" ON "plans" USING btree ("workspace_id","key");--> statement-breakpoint
CREATE INDEX "plans_workspace" ON "plans" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE INDEX "prices_version" ON "prices" USING btree ("workspace_id","plan_version_id","position");--> statement-breakpoint
CREATE UNIQUE INDEX "product_events_message" ON "product_events" USING btree ("workspace_id","message_id");--> statement-breakpoint
CREATE INDEX "product_events_account_time" ON "product_events" USING btree ("workspace_id","account_id","timestamp","id" COLLATE "C");--> statement-breakpoint
CREATE INDEX "product_events_unmatched" ON "product_events" USING btree ("workspace_id","user_id","anonymous_id") WHERE "product_events"."account_id" IS NULL;--> statement-breakpoint
CREATE INDEX "account_activity_timeline" ON "account_activity" USING btree ("workspace_id","account_id","occurred_at","id" COLLATE "C");--> statement-breakpoint
CREATE UNIQUE INDEX "account_activity_dedupe" ON "account_activity" USING btree ("workspace_id","dedupe_key") WHERE "account_activity"."dedupe_key" IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "account_domains_pk" ON "account_domains" USING btree ("workspace_id","domain","account_id");--> statement-breakpoint
CREATE UNIQUE INDEX "account_domains_claimed" ON "account_domains" USING btree ("workspace_id","domain") WHERE "account_domains"."claimed";--> statement-breakpoint
CREATE INDEX "account_domains_account" ON "account_domains" USING btree ("workspace_id","account_id");--> statement-breakpoint
CREATE UNIQUE INDEX "account_memberships_pk" ON "account_memberships" USING btree ("workspace_id","account_id","contact_id");--> statement-breakpoint
CREATE INDEX "account_memberships_contact" ON "account_memberships" USING btree ("workspace_id","contact_id");--> statement-breakpoint
CREATE UNIQUE INDEX "accounts_external_id" ON "accounts" USING btree ("workspace_id","external_id") WHERE "accounts"."external_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "accounts_workspace" ON "accounts" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE INDEX "accounts_merged_into" ON "accounts" USING btree ("workspace_id","merged_into") WHERE "accounts"."merged_into" IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "contact_aliases_pk" ON "contact_aliases" USING btree ("workspace_id","alias");--> statement-breakpoint
CREATE INDEX "contact_aliases_contact" ON "contact_aliases" USING btree ("workspace_id","contact_id");--> statement-breakpoint
CREATE UNIQUE INDEX "contacts_user" ON "contacts" USING btree ("workspace_id","user_id") WHERE "contacts"."user_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "contacts_workspace" ON "contacts" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE INDEX "contacts_account" ON "contacts" USING btree ("workspace_id","account_id");--> statement-breakpoint
CREATE INDEX "contacts_email" ON "contacts" USING btree ("workspace_id","email");--> statement-breakpoint
CREATE INDEX "contacts_email_domain" ON "contacts" USING btree ("workspace_id","email_domain");--> statement-breakpoint
CREATE INDEX "contacts_company" ON "contacts" USING btree ("workspace_id","company_external_id") WHERE "contacts"."company_external_id" IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "account_balances_pk" ON "account_balances" USING btree ("workspace_id","account_id","currency");--> statement-breakpoint
CREATE INDEX "credit_notes_workspace" ON "credit_notes" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "credit_notes_number" ON "credit_notes" USING btree ("workspace_id","number");--> statement-breakpoint
CREATE UNIQUE INDEX "credit_notes_source" ON "credit_notes" USING btree ("workspace_id","source_key") WHERE "credit_notes"."source_key" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "invoice_lines_invoice" ON "invoice_lines" USING btree ("invoice_id","position");--> statement-breakpoint
CREATE UNIQUE INDEX "invoice_lines_no_double_billing" ON "invoice_lines" USING btree ("workspace_id","subscription_id","charge_key","period_start") WHERE "invoice_lines"."subscription_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "invoices_workspace" ON "invoices" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE INDEX "invoices_subscription" ON "invoices" USING btree ("workspace_id","subscription_id");--> statement-breakpoint
CREATE INDEX "invoices_account" ON "invoices" USING btree ("workspace_id","account_id");--> statement-breakpoint
CREATE UNIQUE INDEX "invoices_number" ON "invoices" USING btree ("workspace_id","number");--> statement-breakpoint
CREATE UNIQUE INDEX "number_sequences_pk" ON "number_sequences" USING btree ("workspace_id","kind");--> statement-breakpoint
CREATE INDEX "subscription_events_sub" ON "subscription_events" USING btree ("workspace_id","subscription_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "subscription_price_overrides_pk" ON "subscription_price_overrides" USING btree ("subscription_id","price_id");--> statement-breakpoint
CREATE INDEX "subscription_schedules_sub" ON "subscription_schedules" USING btree ("workspace_id","subscription_id","effective_at");--> statement-breakpoint
CREATE INDEX "subscriptions_workspace" ON "subscriptions" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE INDEX "subscriptions_account" ON "subscriptions" USING btree ("workspace_id","account_id");--> statement-breakpoint
CREATE INDEX "subscriptions_due" ON "subscriptions" USING btree ("workspace_id","current_period_end") WHERE "subscriptions"."status" IN ('trialing', 'active', 'past_due');--> statement-breakpoint
CREATE UNIQUE INDEX "usage_alerts_once" ON "usage_alerts" USING btree ("workspace_id","subscription_id","feature_key","period_start","threshold_percent");--> statement-breakpoint
CREATE INDEX "payment_methods_workspace" ON "payment_methods" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE INDEX "payment_methods_account" ON "payment_methods" USING btree ("workspace_id","account_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "payment_methods_one_default" ON "payment_methods" USING btree ("workspace_id","account_id") WHERE "payment_methods"."is_default";--> statement-breakpoint
CREATE UNIQUE INDEX "payments_idempotency" ON "payments" USING btree ("workspace_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "payments_workspace" ON "payments" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE INDEX "payments_invoice" ON "payments" USING btree ("workspace_id","invoice_id","id");--> statement-breakpoint
CREATE INDEX "payments_account" ON "payments" USING btree ("workspace_id","account_id","id");--> statement-breakpoint
CREATE INDEX "sandbox_cards_workspace" ON "sandbox_cards" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "sandbox_charges_idempotency" ON "sandbox_charges" USING btree ("workspace_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "sandbox_charges_prefix" ON "sandbox_charges" USING btree ("workspace_id","key_prefix","token");--> statement-breakpoint
CREATE INDEX "scoring_backtests_list" ON "scoring_backtests" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE INDEX "scoring_dirty_accounts_ready" ON "scoring_dirty_accounts" USING btree ("workspace_id","ready_at");--> statement-breakpoint
CREATE UNIQUE INDEX "scoring_models_version" ON "scoring_models" USING btree ("workspace_id","version");--> statement-breakpoint
CREATE UNIQUE INDEX "scoring_models_one_active" ON "scoring_models" USING btree ("workspace_id") WHERE "scoring_models"."status" = 'active';--> statement-breakpoint
CREATE UNIQUE INDEX "scoring_models_one_shadow" ON "scoring_models" USING btree ("workspace_id") WHERE "scoring_models"."status" = 'shadow';--> statement-breakpoint
CREATE INDEX "scoring_models_list" ON "scoring_models" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE INDEX "scoring_scores_account" ON "scoring_scores" USING btree ("workspace_id","account_id");--> statement-breakpoint
CREATE INDEX "scoring_snapshots_account" ON "scoring_snapshots" USING btree ("workspace_id","account_id","model_id","id");--> statement-breakpoint
CREATE INDEX "checkout_sessions_workspace" ON "checkout_sessions" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE INDEX "hand_raises_workspace" ON "hand_raises" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE INDEX "hand_raises_account" ON "hand_raises" USING btree ("workspace_id","account_id");--> statement-breakpoint
CREATE INDEX "portal_sessions_workspace" ON "portal_sessions" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "quote_lines_price" ON "quote_lines" USING btree ("quote_id","price_id");--> statement-breakpoint
CREATE INDEX "quote_lines_quote" ON "quote_lines" USING btree ("workspace_id","quote_id","position");--> statement-breakpoint
CREATE INDEX "quotes_workspace" ON "quotes" USING btree ("workspace_id","id");--> statement-breakpoint
CREATE INDEX "quotes_account" ON "quotes" USING btree ("workspace_id","account_id");--> statement-breakpoint
CREATE UNIQUE INDEX "quotes_number" ON "quotes" USING btree ("workspace_id","number");