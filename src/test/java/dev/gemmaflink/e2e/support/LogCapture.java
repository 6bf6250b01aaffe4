package dev.gemmaflink.e2e.support;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.AbstractConfiguration;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.config.LoggerConfig;
import org.apache.logging.log4j.core.config.Property;

/**
 * Records the log events of some loggers (and their children) at a level and above, whatever levels
 * {@code log4j2-test.xml} gives them, and puts the configuration back on {@link #close}. A logger the file configures
 * only through an ancestor gets a config of its own for the capture, so the console still shows only what the file
 * lets through; one the file names itself is opened to the level for all its appenders. The tests log through SLF4J
 * into log4j2 ({@code log4j-slf4j2-impl}), the MiniCluster's tasks included, so this sees what a job logs.
 *
 * <pre>{@code
 * try (LogCapture warnings = LogCapture.start(Level.WARN, "org.apache.flink.metrics.MetricGroup")) {
 *     ... run a job ...
 *     assertThat(warnings.messages()).noneMatch(m -> m.startsWith("Name collision"));
 * }
 * }</pre>
 */
public final class LogCapture implements AutoCloseable {

    private final LoggerContext context;
    private final Recorder recorder = new Recorder("log-capture-" + UUID.randomUUID());
    /** Logger configs added for the capture. */
    private final List<String> added = new ArrayList<>();
    /** Logger configs that were there, with the level each had. */
    private final Map<String, Level> previousLevels = new LinkedHashMap<>();

    private LogCapture(LoggerContext context) {
        this.context = context;
    }

    /**
     * Starts recording the events of {@code loggers} at {@code level} and above. Name no logger together with one
     * of its ancestors: an event would be recorded once for each.
     */
    public static LogCapture start(Level level, String... loggers) {
        for (String a : loggers) {
            for (String b : loggers) {
                if (b.startsWith(a + ".")) {
                    throw new IllegalArgumentException(a + " is an ancestor of " + b);
                }
            }
        }
        LoggerContext context = (LoggerContext) LogManager.getContext(false);
        Configuration config = context.getConfiguration();
        LogCapture capture = new LogCapture(context);
        capture.recorder.start();
        config.addAppender(capture.recorder);
        for (String name : loggers) {
            LoggerConfig logger = config.getLoggerConfig(name);
            if (logger.getName().equals(name)) {
                capture.previousLevels.put(name, logger.getLevel());
            } else {
                // Configured only through an ancestor: give it a config of its own that hands the ancestors'
                // appenders what they got before, at the level it had, and the recorder what it asks for.
                LoggerConfig own = new LoggerConfig(name, logger.getLevel(), false);
                for (LoggerConfig up = logger; up != null; up = up.isAdditive() ? up.getParent() : null) {
                    for (Appender appender : up.getAppenders().values()) {
                        own.addAppender(appender, logger.getLevel(), null);
                    }
                }
                config.addLogger(name, own);
                capture.added.add(name);
                logger = own;
            }
            if (logger.getLevel().intLevel() < level.intLevel()) {
                logger.setLevel(level);
            }
            logger.addAppender(capture.recorder, level, null);
        }
        context.updateLoggers();
        return capture;
    }

    /** The formatted messages recorded so far, in order. */
    public List<String> messages() {
        return recorder.events.stream().map(e -> e.getMessage().getFormattedMessage()).toList();
    }

    @Override
    public void close() {
        Configuration config = context.getConfiguration();
        for (String name : added) {
            config.removeLogger(name);
        }
        previousLevels.forEach((name, level) -> {
            LoggerConfig logger = config.getLoggerConfig(name);
            logger.removeAppender(recorder.getName());
            logger.setLevel(level);
        });
        if (config instanceof AbstractConfiguration configuration) {
            configuration.removeAppender(recorder.getName());
        }
        context.updateLoggers();
        recorder.stop();
    }

    private static final class Recorder extends AbstractAppender {
        final ConcurrentLinkedQueue<LogEvent> events = new ConcurrentLinkedQueue<>();

        Recorder(String name) {
            super(name, null, null, true, Property.EMPTY_ARRAY);
        }

        @Override
        public void append(LogEvent event) {
            events.add(event.toImmutable());
        }
    }
}
