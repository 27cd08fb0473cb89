package org.distillery.jobs.cli;

import java.util.regex.Pattern;
import org.apache.logging.log4j.Level;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.ConsoleAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.filter.AbstractFilter;

/**
 * Keeps Spark's reports of a task that failed on bad input off the console. A bad row found inside a Spark task (a
 * label out of range, a feature vector of the wrong width) fails the task, and Spark logs the failure several times
 * with the whole stack trace (the executor, the task set, the scheduler, the writer: 80 to 300 lines) before the job
 * fails and distill prints its one line. This filter drops those events from console appenders only: log files keep
 * them, and {@code DISTILLERY_TRACE=1} leaves the console as it is.
 *
 * <p>An event is dropped when it comes from Spark and carries a distillery input error (as {@link Errors} judges them:
 * in its exception, or quoted in its message as Spark's task-set manager does), or, once such an error was seen, when
 * it is one of the follow-ups of that failure: other tasks of the stage killed, the job aborted.
 */
final class QuietTaskFailures extends AbstractFilter {
    private static final Pattern QUOTED_INPUT_ERROR = Pattern.compile(
            "java\\.lang\\.IllegalArgumentException|java\\.lang\\.IllegalStateException: [^\\n]*\\n\\s+at org\\.distillery\\.");
    private static final Pattern FOLLOW_UP = Pattern.compile(
            "Lost task .*TaskKilled|failed \\d+ times?; aborting job|Job aborted|Aborting job|Aborting task|aborted\\."
                    + "|Exception in task|Task .* killed|Stage cancelled|Job \\d+ cancelled|Could not delete .*_temporary");
    private final java.util.Set<Appender> attached = java.util.Collections.synchronizedSet(
            java.util.Collections.newSetFromMap(new java.util.WeakHashMap<>()));
    private volatile boolean inputErrorSeen;

    private QuietTaskFailures() {
        super(Result.DENY, Result.NEUTRAL);
    }

    /** Installs the filter on every console appender, now and after any reconfiguration (unless DISTILLERY_TRACE). */
    static void install() {
        if (System.getenv("DISTILLERY_TRACE") != null
                || !(LogManager.getContext(false) instanceof LoggerContext context)) {
            return;
        }
        QuietTaskFailures filter = new QuietTaskFailures();
        filter.start();
        attach(context.getConfiguration(), filter);
        context.addPropertyChangeListener(e -> {
            if (LoggerContext.PROPERTY_CONFIG.equals(e.getPropertyName()) && e.getNewValue() instanceof Configuration c) {
                attach(c, filter);
            }
        });
    }

    private static void attach(Configuration configuration, QuietTaskFailures filter) {
        for (Appender appender : configuration.getAppenders().values()) {
            if (appender instanceof ConsoleAppender console && filter.attached.add(console)) {
                console.addFilter(filter);
            }
        }
    }

    @Override
    public Result filter(LogEvent event) {
        return quiet(event) ? Result.DENY : Result.NEUTRAL;
    }

    /** Whether {@code t} is Spark's report of a task killed because another one failed. */
    private static boolean killed(Throwable t) {
        return t != null && t.getClass().getName().equals("org.apache.spark.TaskKilledException");
    }

    /** Whether {@code event} reports a task failure caused by bad input (or follows one). */
    boolean quiet(LogEvent event) {
        if (event.getLevel().isLessSpecificThan(Level.INFO) || !(event.getLoggerName().startsWith("org.apache.spark")
                || event.getLoggerName().startsWith("org.apache.hadoop.mapreduce"))) {
            return false;
        }
        String message = event.getMessage() == null ? "" : event.getMessage().getFormattedMessage();
        if (Errors.inputError(event.getThrown()) != null || QUOTED_INPUT_ERROR.matcher(message).find()) {
            inputErrorSeen = true;
            return true;
        }
        return inputErrorSeen && (FOLLOW_UP.matcher(message).find() || killed(event.getThrown()));
    }
}
