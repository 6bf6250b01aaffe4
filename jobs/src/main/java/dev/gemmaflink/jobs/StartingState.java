package dev.gemmaflink.jobs;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.RecoveryClaimMode;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.gemmaflink.operators.config.EnrichmentOptions;
import dev.gemmaflink.operators.config.EnrichmentOptions.RestoreMode;

/**
 * Where a start of the job takes its state from, so that a restart never reads from group offsets while state
 * exists.
 *
 * <p>The source commits its offsets to the consumer group when a checkpoint completes, and the sinks commit their
 * transactions at the same moment, but not atomically with it: a process killed between the two leaves the group
 * offsets ahead of the committed results. A start from group offsets would then skip those records for good; a
 * start from the checkpoint replays them. So, unless {@code job.restore} is {@code FLINK}:
 *
 * <ul>
 *   <li>checkpoints go to {@code <job.checkpoint-dir>/<job.name>} and are retained when the job is cancelled or its
 *       process dies;</li>
 *   <li>{@code LATEST_CHECKPOINT} resumes from the newest complete one there (Flink writes
 *       {@code <flink job id>/chk-<n>/_metadata} last, so a checkpoint with metadata is complete);</li>
 *   <li>a start without state while checkpoints of the job exist there is refused unless
 *       {@code job.allow-start-without-state} is set.</li>
 * </ul>
 *
 * <p>An explicit {@code flink.execution.state-recovery.path} wins over the search.
 */
public final class StartingState {
    private static final Logger LOG = LoggerFactory.getLogger(StartingState.class);

    /** File Flink writes into a checkpoint folder when the checkpoint completes. */
    static final String METADATA_FILE = "_metadata";

    private static final Pattern CHECKPOINT_FOLDER = Pattern.compile("chk-(\\d+)");

    private StartingState() {
    }

    /**
     * Sets durable checkpointing and the state to resume from in {@code flink}, the Flink settings of the job.
     *
     * @param conf the job configuration
     * @param flink the Flink configuration the execution environment is built from; changed in place
     * @return the checkpoint the job resumes from, empty when it starts without state or Flink decides
     * @throws IllegalArgumentException when the start would ignore existing checkpoints of the job
     */
    public static Optional<String> apply(Configuration conf, Configuration flink) {
        RestoreMode mode = conf.get(EnrichmentOptions.RESTORE);
        if (mode == RestoreMode.FLINK) {
            LOG.info("job.restore FLINK: checkpoint storage and the state to restore are left to Flink");
            return Optional.empty();
        }
        Path folder = checkpointFolder(conf);
        flink.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, folder.toUri().toString());
        flink.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION,
                ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        if (flink.contains(StateRecoveryOptions.SAVEPOINT_PATH)) {
            String given = flink.get(StateRecoveryOptions.SAVEPOINT_PATH);
            LOG.info("resuming from {} (flink.execution.state-recovery.path)", given);
            return Optional.of(given);
        }
        Checkpoints found = scan(folder);
        boolean allowed = conf.get(EnrichmentOptions.ALLOW_START_WITHOUT_STATE);
        if (mode == RestoreMode.LATEST_CHECKPOINT && found.latestComplete().isPresent()) {
            String latest = found.latestComplete().get().toUri().toString();
            flink.set(StateRecoveryOptions.SAVEPOINT_PATH, latest);
            // The job's own checkpoint: this run owns it and deletes it once a newer one subsumes it.
            flink.set(StateRecoveryOptions.RESTORE_MODE, RecoveryClaimMode.CLAIM);
            LOG.info("resuming from checkpoint {} (the newest complete one of {} under {})", latest,
                    found.folders().size(), folder);
            return Optional.of(latest);
        }
        if (!found.folders().isEmpty() && !allowed) {
            throw new IllegalArgumentException(String.format(
                    "%s holds %d checkpoint(s) of job '%s' (%s), and this start would not resume from them "
                            + "(job.restore %s%s): the consumer group's offsets may be ahead of the committed results, "
                            + "so records would be skipped. Set job.allow-start-without-state: true to start from "
                            + "kafka.starting-offsets anyway, or flink.execution.state-recovery.path to a savepoint",
                    folder, found.folders().size(), conf.get(EnrichmentOptions.JOB_NAME), found.folders().get(0),
                    mode, found.latestComplete().isEmpty() ? ", none of them complete" : ""));
        }
        LOG.info("starting without state from kafka.starting-offsets ({}); checkpoints go to {}",
                conf.get(EnrichmentOptions.STARTING_OFFSETS), folder);
        return Optional.empty();
    }

    /** {@code <job.checkpoint-dir>/<job.name>}, with the default folder under the user's home when unset. */
    public static Path checkpointFolder(Configuration conf) {
        String base = conf.get(EnrichmentOptions.CHECKPOINT_DIR);
        if (base.isBlank()) {
            base = java.nio.file.Path.of(System.getProperty("user.home"), ".local", "state", "gemma-flink",
                    "checkpoints").toUri().toString();
        }
        return new Path(new Path(base), conf.get(EnrichmentOptions.JOB_NAME));
    }

    /**
     * The checkpoint folders of a job folder ({@code <flink job id>/chk-<n>}), newest first, and the newest complete
     * one among them: the one whose metadata was written last (then the highest number).
     */
    static Checkpoints scan(Path jobFolder) {
        try {
            FileSystem fs = jobFolder.getFileSystem();
            if (!fs.exists(jobFolder)) {
                return new Checkpoints(List.of(), Optional.empty());
            }
            List<Candidate> candidates = new ArrayList<>();
            for (FileStatus run : list(fs, jobFolder)) {
                if (!run.isDir()) {
                    continue;
                }
                for (FileStatus checkpoint : list(fs, run.getPath())) {
                    Matcher m = CHECKPOINT_FOLDER.matcher(checkpoint.getPath().getName());
                    if (checkpoint.isDir() && m.matches()) {
                        Path metadata = new Path(checkpoint.getPath(), METADATA_FILE);
                        long completed = fs.exists(metadata) ? fs.getFileStatus(metadata).getModificationTime() : -1;
                        candidates.add(new Candidate(checkpoint.getPath(), Long.parseLong(m.group(1)), completed));
                    }
                }
            }
            candidates.sort(Comparator.comparingLong(Candidate::completedAt).thenComparingLong(Candidate::number)
                    .reversed());
            Optional<Path> latest = candidates.stream().filter(c -> c.completedAt() >= 0).findFirst()
                    .map(Candidate::folder);
            return new Checkpoints(candidates.stream().map(Candidate::folder).toList(), latest);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the checkpoints under " + jobFolder, e);
        }
    }

    private static FileStatus[] list(FileSystem fs, Path folder) throws IOException {
        FileStatus[] entries = fs.listStatus(folder);
        return entries == null ? new FileStatus[0] : entries;
    }

    /**
     * The checkpoints found for a job.
     *
     * @param folders every checkpoint folder, complete or not, newest first
     * @param latestComplete the newest one with metadata
     */
    record Checkpoints(List<Path> folders, Optional<Path> latestComplete) {
    }

    private record Candidate(Path folder, long number, long completedAt) {
    }
}
