package io.flowmonkey.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OptionsTest {

    @Test
    void engine_options_default_to_the_published_constants() {
        EngineOptions options = EngineOptions.DEFAULTS;

        assertThat(options.clock()).isEqualTo(EngineOptions.DEFAULT_CLOCK);
        assertThat(options.maxSteps()).isEqualTo(EngineOptions.DEFAULT_MAX_STEPS);
        assertThat(options.recordHistory()).isEqualTo(EngineOptions.DEFAULT_RECORD_HISTORY);
        assertThat(options.idempotencyTtl()).isEqualTo(EngineOptions.DEFAULT_IDEMPOTENCY_TTL);
        assertThat(options.executionTimeout()).isNull();
        assertThat(options.waitTimeout()).isNull();
    }

    @Test
    void engine_option_setters_reject_bad_values_in_domain_words() {
        EngineOptions.Builder b = EngineOptions.builder();
        assertThatThrownBy(() -> b.maxSteps(0)).hasMessage("maxSteps must be at least 1, got 0");
        assertThatThrownBy(() -> b.clock(null)).hasMessage("clock must not be null");
        assertThatThrownBy(() -> b.idempotencyTtl(Duration.ZERO)).hasMessage("idempotencyTtl must be positive, got PT0S");
        assertThatThrownBy(() -> b.executionTimeout(Duration.ofSeconds(-1)))
                .hasMessage("executionTimeout must be positive, got PT-1S");
        assertThatThrownBy(() -> b.waitTimeout(Duration.ZERO)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void create_option_setters_reject_bad_values_and_copy_metadata() {
        CreateOptions.Builder b = CreateOptions.builder();
        assertThatThrownBy(() -> b.tenantId(" ")).hasMessage("tenantId must be null or a non-blank string, got ' '");
        assertThatThrownBy(() -> b.idempotencyKey("")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.parentExecutionId(" ")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> b.timeout(Duration.ZERO)).hasMessage("timeout must be positive, got PT0S");
        assertThatThrownBy(() -> b.idempotencyTtl(Duration.ofMinutes(-1))).isInstanceOf(IllegalArgumentException.class);

        Map<String, Object> metadata = new HashMap<>(Map.of("a", 1));
        CreateOptions options = b.metadata(metadata).build();
        metadata.put("b", 2);
        assertThat(options.metadata()).isEqualTo(Map.of("a", 1));
        assertThatThrownBy(() -> options.metadata().put("c", 3)).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void retry_backoff_grows_by_the_multiplier_up_to_the_cap() {
        RetryPolicy policy = RetryPolicy.builder().maxAttempts(5).backoff(Duration.ofSeconds(1)).multiplier(3)
                .maxBackoff(Duration.ofSeconds(20)).build();

        assertThat(policy.backoffAfter(1)).isEqualTo(Duration.ofSeconds(1));
        assertThat(policy.backoffAfter(2)).isEqualTo(Duration.ofSeconds(3));
        assertThat(policy.backoffAfter(3)).isEqualTo(Duration.ofSeconds(9));
        assertThat(policy.backoffAfter(4)).isEqualTo(Duration.ofSeconds(20));
        assertThat(policy.backoffAfter(1000)).isEqualTo(Duration.ofSeconds(20));
        assertThat(policy.retries("ANY", 4)).isTrue();
        assertThat(policy.retries("ANY", 5)).isFalse();
    }

    @Test
    void retry_policy_rejects_bad_values() {
        assertThatThrownBy(() -> RetryPolicy.builder().maxAttempts(0)).hasMessage("maxAttempts must be at least 1, got 0");
        assertThatThrownBy(() -> RetryPolicy.builder().multiplier(0.5)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RetryPolicy.builder().retryOn("A", " ")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> RetryPolicy.builder().backoff(Duration.ofMinutes(2)).maxBackoff(Duration.ofMinutes(1))
                .build()).hasMessageContaining("maxBackoff (PT1M) must not be shorter than backoff (PT2M)");
        assertThat(RetryPolicy.builder().backoff(Duration.ofHours(1)).build().maxBackoff()).isEqualTo(Duration.ofHours(1));
    }

    @Test
    void step_results_reject_blank_codes_and_non_positive_waits() {
        assertThatThrownBy(() -> StepResult.failure(" ", "x")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("failure code must be a non-blank string");
        assertThatThrownBy(() -> StepResult.waitFor(Duration.ZERO, "x")).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void durations_longer_than_MAX_DURATION_are_refused_when_set() {
        Duration tooLong = EngineOptions.MAX_DURATION.plusSeconds(1);
        assertThatThrownBy(() -> EngineOptions.builder().executionTimeout(tooLong))
                .hasMessageContaining("executionTimeout must be at most 365250 days (EngineOptions.MAX_DURATION)");
        assertThatThrownBy(() -> CreateOptions.builder().waitTimeout(Duration.ofSeconds(Long.MAX_VALUE)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("MAX_DURATION");
        assertThatThrownBy(() -> RetryPolicy.builder().maxBackoff(tooLong)).hasMessageContaining("maxBackoff");
        assertThatThrownBy(() -> Step.builder("s", "t").timeout(tooLong)).hasMessageContaining("timeout of step 's'");
        assertThatThrownBy(() -> StepResult.waitFor(tooLong, "x")).hasMessageContaining("wait duration");
        assertThat(CreateOptions.builder().timeout(EngineOptions.MAX_DURATION).build().timeout())
                .isEqualTo(EngineOptions.MAX_DURATION);
    }

    @Test
    void a_chosen_execution_id_must_be_non_blank_storable_text() {
        assertThat(CreateOptions.builder().executionId("order-1001").build().executionId()).isEqualTo("order-1001");
        assertThat(CreateOptions.DEFAULTS.executionId()).isNull();
        assertThatThrownBy(() -> CreateOptions.builder().executionId(" "))
                .hasMessage("executionId must be null or a non-blank string, got ' '");
        assertThatThrownBy(() -> CreateOptions.builder().executionId("a\u0000b"))
                .hasMessageContaining("executionId must not contain U+0000 or an unpaired surrogate, got 'a\\u0000b'");
        assertThatThrownBy(() -> CreateOptions.builder().executionId("a\ud800"))
                .hasMessageContaining("unpaired surrogate");
        String longest = "k".repeat(CreateOptions.MAX_EXECUTION_ID_LENGTH);
        assertThat(CreateOptions.builder().executionId(longest).build().executionId()).isEqualTo(longest);
        assertThatThrownBy(() -> CreateOptions.builder().executionId(longest + "k"))
                .hasMessage("executionId must be at most 255 characters (CreateOptions.MAX_EXECUTION_ID_LENGTH), got 256");
    }

    @Test
    void step_timeouts_are_positive_and_part_of_the_step() {
        assertThatThrownBy(() -> Step.builder("s", "t").timeout(Duration.ZERO))
                .hasMessage("timeout of step 's' must be positive, got PT0S");
        Step timed = Step.builder("s", "t").timeout(Duration.ofSeconds(5)).build();
        assertThat(timed.timeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(timed).isNotEqualTo(Step.builder("s", "t").build());
        assertThat(Step.builder("s", "t").build().timeout()).isNull();
    }

    @Test
    void a_zero_backoff_retries_at_once() {
        RetryPolicy policy = RetryPolicy.builder().maxAttempts(3).backoff(Duration.ZERO).build();

        assertThat(policy.backoffAfter(1)).isEqualTo(Duration.ZERO);
        assertThat(policy.backoffAfter(2)).isEqualTo(Duration.ZERO);
        assertThatThrownBy(() -> RetryPolicy.builder().backoff(Duration.ofMillis(-1)))
                .hasMessage("backoff must not be negative, got PT-0.001S");
    }

    @Test
    void then_and_nonRetryable_keep_the_rest_of_the_result() {
        StepResult.Success branched = StepResult.success(Map.of("a", 1)).then("ship");
        assertThat(branched).isEqualTo(new StepResult.Success(Map.of("a", 1), "ship"));
        assertThat(StepResult.success(1).nextStepId()).isNull();
        assertThatThrownBy(() -> StepResult.success(1).then(null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> StepResult.success(1).then(" ")).isInstanceOf(IllegalArgumentException.class);

        StepResult.Failure permanent = StepResult.failure("DECLINED", "no", Map.of("k", "v")).nonRetryable();
        assertThat(permanent).isEqualTo(new StepResult.Failure("DECLINED", "no", Map.of("k", "v"), false));
        assertThat(StepResult.failure("BUSY", "later").retryable()).isTrue();
    }

    @Test
    void engine_options_take_an_object_mapper_and_default_to_a_plain_one() {
        com.fasterxml.jackson.databind.ObjectMapper mine = new com.fasterxml.jackson.databind.ObjectMapper();
        assertThat(EngineOptions.builder().objectMapper(mine).build().objectMapper()).isSameAs(mine);
        assertThat(EngineOptions.DEFAULTS.objectMapper()).isNotNull();
        assertThatThrownBy(() -> EngineOptions.builder().objectMapper(null)).hasMessage("objectMapper must not be null");
    }

    @Test
    void worker_durations_beyond_what_its_nanosecond_timers_hold_are_refused_when_set() {
        // Builders check their settings without connecting: this data source is never used.
        Engine engine = new Engine(new io.flowmonkey.postgres.PgExecutionStore(new org.postgresql.ds.PGSimpleDataSource()),
                new HandlerRegistry(), new InMemoryFlowRegistry());
        Duration tooLong = EngineWorker.MAX_SETTING.plusDays(1);

        assertThatThrownBy(() -> EngineWorker.builder(engine).pollInterval(tooLong))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pollInterval must be at most 365 days");
        assertThatThrownBy(() -> EngineWorker.builder(engine).leaseTtl(tooLong))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("leaseTtl");
        assertThatThrownBy(() -> EngineWorker.builder(engine).shutdownTimeout(Duration.ofSeconds(Long.MAX_VALUE)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("shutdownTimeout");
        assertThat(EngineWorker.builder(engine).pollInterval(EngineWorker.MAX_SETTING).build()).isNotNull();
    }

    @Test
    void worker_claim_ahead_and_save_batch_size_out_of_range_are_refused_when_set() {
        Engine engine = new Engine(new io.flowmonkey.postgres.PgExecutionStore(new org.postgresql.ds.PGSimpleDataSource()),
                new HandlerRegistry(), new InMemoryFlowRegistry());

        assertThatThrownBy(() -> EngineWorker.builder(engine).claimAhead(-1)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("claimAhead must be between 0 and 1000, got -1");
        assertThatThrownBy(() -> EngineWorker.builder(engine).claimAhead(EngineWorker.MAX_BATCH + 1))
                .hasMessageContaining("claimAhead");
        assertThatThrownBy(() -> EngineWorker.builder(engine).saveBatchSize(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("saveBatchSize must be between 1 and 1000, got 0");
        assertThat(EngineWorker.builder(engine).claimAhead(0).saveBatchSize(1).build()).isNotNull();
        assertThat(EngineWorker.builder(engine).claimAhead(EngineWorker.MAX_BATCH).saveBatchSize(EngineWorker.MAX_BATCH)
                .build()).isNotNull();
    }

    @Test
    void a_worker_id_no_lease_owner_column_can_hold_is_refused_when_set() {
        Engine engine = new Engine(new io.flowmonkey.memory.InMemoryExecutionStore(), new HandlerRegistry(),
                new InMemoryFlowRegistry());

        assertThatThrownBy(() -> EngineWorker.builder(engine).workerId("orders\u00001"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("workerId")
                .hasMessageContaining("U+0000");
    }

    @Test
    void an_await_poll_interval_longer_than_the_worker_settings_allow_is_refused_when_set() {
        assertThatThrownBy(() -> EngineOptions.builder().awaitPollInterval(Duration.ofDays(400 * 365)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("awaitPollInterval");
        assertThat(EngineOptions.builder().awaitPollInterval(EngineWorker.MAX_SETTING).build().awaitPollInterval())
                .isEqualTo(EngineWorker.MAX_SETTING);
    }

    @Test
    void the_worker_defaults_are_the_ones_the_readme_configuration_tables_print() {
        assertThat(EngineWorker.DEFAULT_THREADS).isEqualTo(4);
        assertThat(EngineWorker.DEFAULT_POLL_INTERVAL).isEqualTo(Duration.ofSeconds(5));
        assertThat(EngineWorker.DEFAULT_LEASE_TTL).isEqualTo(Duration.ofSeconds(30));
        assertThat(EngineWorker.DEFAULT_SHUTDOWN_TIMEOUT).isEqualTo(Duration.ofSeconds(30));
        assertThat(EngineWorker.DEFAULT_CLAIM_AHEAD).isEqualTo(4);
        assertThat(EngineWorker.DEFAULT_SAVE_BATCH_SIZE).isEqualTo(64);
    }

    @Test
    void a_child_id_is_checked_as_a_chosen_execution_id_is() {
        ChildSpec child = ChildSpec.of("f", java.util.Map.of());

        assertThatThrownBy(() -> child.executionId("child\u00001")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("child executionId").hasMessageContaining("U+0000");
        assertThatThrownBy(() -> child.executionId("c".repeat(CreateOptions.MAX_EXECUTION_ID_LENGTH + 1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at most 255");
        assertThat(child.executionId("child-1").executionId()).isEqualTo("child-1");
    }
}
