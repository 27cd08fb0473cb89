package org.distillery.jobs.train;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.PythonScript;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.cli.CliRun;
import org.distillery.model.schema.TextTransferSchema;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The PyTorch reference, {@code docs/scripts/lm_reference_torch.py}, trains on the windows {@code train --task lm
 * --windows N --seed S} trains on: its {@code --print-slice} lists the same ids in the same order as
 * {@link LmWindows#slice} (and, without {@code --windows}, as {@link LmWindows#seededOrder}) over the text fixture's
 * training split. Without python3, numpy or pyarrow the test is skipped, except in CI ({@code CI=true}).
 */
class LmReferenceSliceTest extends SparkTestBase {
    private static final Path SCRIPT = Path.of("..", "docs", "scripts", "lm_reference_torch.py").toAbsolutePath()
            .normalize();
    @TempDir
    static Path dir;
    static String train;

    @BeforeAll
    static void ingest() throws Exception {
        Fixtures.textCorpus(dir);
        String text = dir.resolve("text").toString();
        CliRun run = CliRun.of("ingest", "--format", "text", "--source", dir.resolve("corpus").toString(), "--window",
                "16", "--burn-in", "4", "--split", "validation=0.15,test=0.15", "--seed", "7", "--out", text);
        assertThat(run.code()).as(run.err()).isZero();
        train = text + "/train";
    }

    private static List<Long> ids(Dataset<Row> rows) {
        List<Long> out = new ArrayList<>();
        for (Row r : rows.select(TextTransferSchema.ID).collectAsList()) {
            out.add(r.getLong(0));
        }
        return out;
    }

    /** The ids the script prints with {@code --print-slice} and {@code args}. */
    private static List<Long> script(String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("--transfer", train, "--validation", train, "--test", train,
                "--print-slice"));
        command.addAll(List.of(args));
        PythonScript.Run run = PythonScript.run(SCRIPT, dir, 2, command);
        assertThat(run.code()).as(run.err()).isZero();
        return run.out().lines().map(Long::parseLong).toList();
    }

    @Test
    void theScriptSlicesTheWindowsTrainSlicesInTheSameOrder() throws Exception {
        Dataset<Row> rows = spark().read().parquet(train);
        long count = rows.count();
        assertThat(count).as("enough windows for a slice to choose").isGreaterThan(20);
        for (long seed : new long[] {42, 1, -7}) {
            List<Long> slice = ids(LmWindows.slice(rows, 10, seed));
            assertThat(slice).hasSize(10);
            assertThat(script("--windows", "10", "--seed", Long.toString(seed))).as("seed %d", seed)
                    .containsExactlyElementsOf(slice);
            List<Long> all = ids(LmWindows.seededOrder(rows, seed));
            assertThat(all).hasSize((int) count).startsWith(slice.toArray(Long[]::new));
            assertThat(script("--seed", Long.toString(seed))).as("seed %d, every window", seed)
                    .containsExactlyElementsOf(all);
        }
        assertThat(ids(LmWindows.slice(rows, 10, 1))).as("another seed, another slice")
                .isNotEqualTo(ids(LmWindows.slice(rows, 10, 42)));
    }
}
