package org.distillery.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.abort;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs one of docs/scripts' Python scripts for a test: {@code python3 SCRIPT ARGS}, stdout and stderr to files in a
 * directory the test owns. Outside CI a missing python3, or a script that exits 3 (its packages are not installed),
 * skips the test with the reason; in CI ({@code CI=true}) both fail it, since .ci/run installs them.
 */
public final class PythonScript {
    private static final boolean CI = "true".equals(System.getenv("CI"));

    private PythonScript() {
    }

    /** The script's exit code, stdout and stderr. */
    public record Run(int code, String out, String err) {
    }

    /**
     * Runs {@code script} with {@code args}, waiting at most {@code minutes}; {@code dir} keeps the output files
     * ({@code NAME.out}, {@code NAME.err} after the script's file name).
     */
    public static Run run(Path script, Path dir, int minutes, List<String> args) throws IOException,
            InterruptedException {
        List<String> command = new ArrayList<>(List.of("python3", script.toString()));
        command.addAll(args);
        String name = script.getFileName().toString();
        Path out = dir.resolve(name + ".out");
        Path err = dir.resolve(name + ".err");
        Process p;
        try {
            p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        } catch (IOException noPython) {
            if (CI) {
                throw noPython;
            }
            abort("python3 is not installed: " + noPython.getMessage());
            return null;
        }
        assertThat(p.waitFor(minutes, TimeUnit.MINUTES)).as(name + " finished in time").isTrue();
        Run run = new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
        if (run.code() == 3 && !CI) {
            abort(name + " needs Python packages that are not installed: " + run.err().strip());
        }
        return run;
    }
}
