package dev.gemmaflink.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.RecoveryClaimMode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import dev.gemmaflink.operators.config.OptionsLoader;

class StartingStateTest {

    @TempDir
    Path dir;

    @Test
    void aFirstStartHasNoStateAndRetainsItsCheckpointsUnderTheJobsFolder() {
        Configuration flink = new Configuration();

        Optional<String> resumed = StartingState.apply(conf(Map.of()), flink);

        assertThat(resumed).isEmpty();
        assertThat(flink.get(CheckpointingOptions.CHECKPOINTS_DIRECTORY))
                .isEqualTo("file:" + dir.resolve("my-job"));
        assertThat(flink.get(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION))
                .isEqualTo(ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        assertThat(flink.contains(StateRecoveryOptions.SAVEPOINT_PATH)).isFalse();
    }

    @Test
    void resumesFromTheNewestCompleteCheckpointOfAnyEarlierRun() throws IOException {
        checkpoint("run-a", 7, 1_000);
        checkpoint("run-b", 3, 3_000); // a later run restored from run-a: fewer checkpoints, completed later
        checkpoint("run-b", 2, 2_000);
        incomplete("run-b", 4); // killed while writing checkpoint 4
        Configuration flink = new Configuration();

        Optional<String> resumed = StartingState.apply(conf(Map.of()), flink);

        String expected = "file:" + dir.resolve("my-job/run-b/chk-3");
        assertThat(resumed).contains(expected);
        assertThat(flink.get(StateRecoveryOptions.SAVEPOINT_PATH)).isEqualTo(expected);
        assertThat(flink.get(StateRecoveryOptions.RESTORE_MODE)).isEqualTo(RecoveryClaimMode.CLAIM);
    }

    @Test
    void anotherJobsCheckpointsAreNotThisJobsState() throws IOException {
        checkpoint("run-a", 1, 1_000);

        assertThat(StartingState.apply(conf(Map.of("job.name", "other-job")), new Configuration())).isEmpty();
    }

    @Test
    void aStartWithoutStateWhileCheckpointsExistIsRefusedNamingTheOptionThatAllowsIt() throws IOException {
        checkpoint("run-a", 5, 1_000);

        assertThatThrownBy(() -> StartingState.apply(conf(Map.of("job.restore", "NONE")), new Configuration()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("holds 1 checkpoint(s) of job 'my-job'")
                .hasMessageContaining("job.allow-start-without-state: true");

        Configuration flink = new Configuration();
        assertThat(StartingState.apply(conf(Map.of("job.restore", "NONE", "job.allow-start-without-state", "true")),
                flink)).isEmpty();
        assertThat(flink.contains(StateRecoveryOptions.SAVEPOINT_PATH)).isFalse();
    }

    @Test
    void checkpointsOfWhichNoneIsCompleteAreRefusedUnlessAllowed() throws IOException {
        incomplete("run-a", 1);

        assertThatThrownBy(() -> StartingState.apply(conf(Map.of()), new Configuration()))
                .hasMessageContaining("none of them complete")
                .hasMessageContaining("job.allow-start-without-state");
        assertThat(StartingState.apply(conf(Map.of("job.allow-start-without-state", "true")), new Configuration()))
                .isEmpty();
    }

    @Test
    void anExplicitStateRecoveryPathWinsOverTheSearch() throws IOException {
        checkpoint("run-a", 5, 1_000);
        Configuration flink = new Configuration();
        flink.set(StateRecoveryOptions.SAVEPOINT_PATH, "file:///savepoints/sp-1");

        assertThat(StartingState.apply(conf(Map.of()), flink)).contains("file:///savepoints/sp-1");
        assertThat(flink.get(StateRecoveryOptions.SAVEPOINT_PATH)).isEqualTo("file:///savepoints/sp-1");
    }

    @Test
    void restoreModeFlinkLeavesCheckpointStorageAndRestoreToFlink() throws IOException {
        checkpoint("run-a", 5, 1_000);
        Configuration flink = new Configuration();

        assertThat(StartingState.apply(conf(Map.of("job.restore", "FLINK")), flink)).isEmpty();
        assertThat(flink.keySet()).isEmpty();
    }

    private Configuration conf(Map<String, String> extra) {
        Map<String, String> raw = new LinkedHashMap<>();
        raw.put("job.name", "my-job");
        raw.put("job.checkpoint-dir", dir.toUri().toString());
        raw.putAll(extra);
        return OptionsLoader.fromMap(raw);
    }

    private void checkpoint(String run, int number, long completedAtMillis) throws IOException {
        Path folder = Files.createDirectories(dir.resolve("my-job").resolve(run).resolve("chk-" + number));
        Path metadata = Files.write(folder.resolve(StartingState.METADATA_FILE), new byte[] {1});
        Files.setLastModifiedTime(metadata, FileTime.fromMillis(completedAtMillis));
    }

    private void incomplete(String run, int number) throws IOException {
        Files.createDirectories(dir.resolve("my-job").resolve(run).resolve("chk-" + number));
        Files.createDirectories(dir.resolve("my-job").resolve(run).resolve("shared"));
    }
}
