package org.distillery.jobs.cli;

import picocli.CommandLine;

/**
 * Turns a job's failure into an exit code. Bad input (IllegalArgumentException) and corrupt artefacts
 * (IllegalStateException), even when thrown inside a Spark task, become one line naming the problem and exit code 2;
 * anything else is a bug or an environment failure: stack trace and exit code 1. DISTILLERY_TRACE=1 adds the stack
 * trace to input errors too.
 */
final class Errors {
    private Errors() {
    }

    static int handle(Exception ex, CommandLine cmd, CommandLine.ParseResult parsed) {
        RuntimeException input = inputError(ex);
        if (input != null) {
            cmd.getErr().println("distill " + cmd.getCommandName() + ": error: "
                    + String.valueOf(input.getMessage()).lines().findFirst().orElse("")); // one line, always
            if (System.getenv("DISTILLERY_TRACE") != null) {
                ex.printStackTrace(cmd.getErr());
            }
            return 2;
        }
        cmd.getErr().println("distill " + cmd.getCommandName() + ": failed: " + ex);
        ex.printStackTrace(cmd.getErr());
        return 1;
    }

    /**
     * The first input error in the cause chain (Spark wraps task failures): any IllegalArgumentException, and
     * IllegalStateExceptions that distillery raised about an artefact it read (a library's IllegalStateException is a
     * bug or an environment problem, not bad input).
     */
    static RuntimeException inputError(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof IllegalArgumentException
                    || c instanceof IllegalStateException && thrownByDistillery(c)) {
                return (RuntimeException) c;
            }
        }
        return null;
    }

    private static boolean thrownByDistillery(Throwable t) {
        StackTraceElement[] trace = t.getStackTrace();
        return trace.length > 0 && trace[0].getClassName().startsWith("org.distillery.");
    }
}
