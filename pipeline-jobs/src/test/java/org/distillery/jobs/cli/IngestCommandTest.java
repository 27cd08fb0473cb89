package org.distillery.jobs.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TransferTables;
import org.distillery.jobs.ingest.IngestConfig;
import org.distillery.model.schema.FeatureTransform;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.TransferSchema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The ingest command line: flags to config, the pipeline config file's ingest section, dry runs, scheduler args. */
class IngestCommandTest extends SparkTestBase {
    @TempDir
    Path dir;

    private static IngestConfig parse(String... args) {
        CommandLine cl = Distill.commandLine();
        CommandLine.ParseResult parsed = cl.parseArgs(Distill.withoutEmptyOptions(args));
        return ((IngestCommand) parsed.subcommand().commandSpec().userObject()).config();
    }

    @Test
    void flagsBuildTheConfig() {
        IngestConfig c = parse("ingest", "--format", "csv", "--source", "/lake/x.csv", "--option",
                "header=true,sep=,", "--option", "inferSchema=true", "--id", "key", "--label", "y", "--classes",
                "b,a", "--features", "f1,f2", "--scale", "1/255", "--standardize", "--split",
                "validation=0.1,test=0.2", "--out", "/o");
        assertThat(c.source().options()).containsExactly(Map.entry("header", "true"), Map.entry("sep", ","),
                Map.entry("inferSchema", "true"));
        assertThat(c.columns().classes()).containsExactly("b", "a");
        assertThat(c.columns().features()).containsExactly("f1", "f2");
        assertThat(c.preprocessing().standardize()).isTrue();
        assertThat(c.splits().validation()).isEqualTo(0.1);
        assertThat(c.splits().test()).isEqualTo(0.2);
        assertThat(parse("ingest", "--out", "/o").source().format()).isEqualTo(IngestConfig.Format.IDX);
    }

    @Test
    void anEmptyOneTokenOptionIsNotGivenSoASchedulerCanAlwaysPassIt() {
        IngestConfig c = parse("ingest", "--format=csv", "--source=/lake/x.csv", "--id=key", "--id-from=",
                "--label=", "--classes=", "--features=", "--features-prefix=x", "--shape=", "--scale=",
                "--standardize=", "--transform-from=", "--option=", "--split", "none", "--out", "/o");
        assertThat(c.columns().idFrom()).isEmpty();
        assertThat(c.columns().label()).isNull();
        assertThat(c.preprocessing().scale()).isNull();
        assertThat(c.source().options()).isEmpty();
        // only ingest: elsewhere an empty value stays an error (e.g. label --teacher-sha256=)
        assertThat(Distill.withoutEmptyOptions(new String[] {"label", "--teacher-sha256="}))
                .containsExactly("label", "--teacher-sha256=");
    }

    @Test
    void badFlagsAreOneLineErrors() {
        CliRun noSource = CliRun.of("ingest", "--format", "csv", "--out", "/o");
        assertThat(noSource.code()).isEqualTo(2);
        assertThat(noSource.err().strip()).isEqualTo("distill ingest: error: --source PATH|TABLE is required for"
                + " --format csv");
        CliRun both = CliRun.of("ingest", "--format", "csv", "--source", "x", "--id", "a", "--id-from", "b,c",
                "--out", "/o");
        assertThat(both.err().strip()).isEqualTo("distill ingest: error: give --id or --id-from, not both (got --id a"
                + " and --id-from b,c)");
        CliRun split = CliRun.of("ingest", "--format", "csv", "--source", "x", "--split", "validation=0.6,test=0.5",
                "--out", "/o");
        assertThat(split.err().strip()).isEqualTo("distill ingest: error: split fractions must be >= 0 and sum to"
                + " less than 1, got validation=0.6, test=0.5");
        CliRun idx = CliRun.of("ingest", "--label", "y", "--out", "/o");
        assertThat(idx.err()).contains("--format idx has fixed columns");
        CliRun format = CliRun.of("ingest", "--format", "xls", "--source", "x", "--out", "/o");
        assertThat(format.err().strip()).isEqualTo("distill ingest: error: --format must be one of [parquet, csv,"
                + " json, orc, image, binaryFile, idx, table, text], got 'xls'");
    }

    @Test
    void theConfigFilesIngestSectionDryRunAndARealRunWithTransformFrom() throws Exception {
        Path csv = dir.resolve("day1.csv");
        StringBuilder sb = new StringBuilder("key,fruit,a,b\n");
        for (int i = 0; i < 40; i++) {
            sb.append("k").append(i).append(',').append(i % 3 == 0 ? "apple" : "pear").append(',').append(i)
                    .append(',').append(i * i % 7).append('\n');
        }
        Files.writeString(csv, sb);
        Path conf = dir.resolve("pipeline.conf");
        Files.writeString(conf, "ingest {\n  format = csv\n  option { header = \"true\", inferSchema = \"true\" }\n"
                + "  id = key\n  label = fruit\n  features = [a, b]\n}\n");
        String reference = dir.resolve("reference").toString();
        CliRun dry = CliRun.of("ingest", "--config", conf.toString(), "--source", csv.toString(), "--standardize",
                "--split", "validation=0.25", "--out", reference, "--dry-run");
        assertThat(dry.code()).as(dry.err()).isZero();
        assertThat(dry.lastLine()).contains("\"dryRun\":true").contains("(new)");
        assertThat(Files.exists(Path.of(reference))).isFalse();
        CliRun run = CliRun.of("ingest", "--config", conf.toString(), "--source", csv.toString(), "--standardize",
                "--split", "validation=0.25", "--out", reference);
        assertThat(run.code()).as(run.err()).isZero();
        assertThat(run.out().strip().lines().toList()).hasSize(2); // train and validation summaries
        Manifest ref = Storage.of(spark()).publishedManifest(reference + "/train");

        // a later day with one class only, transformed and mapped as the reference was
        Path day2 = dir.resolve("day2.csv");
        Files.writeString(day2, "key,fruit,a,b\nz1,pear,100,3\nz2,pear,-4,1\n");
        String out = dir.resolve("dt=2").toString();
        CliRun next = CliRun.of("ingest", "--config", conf.toString(), "--source", day2.toString(), "--transform-from",
                reference + "/train", "--out", out);
        assertThat(next.code()).as(next.err()).isZero();
        Manifest m = Storage.of(spark()).publishedManifest(out);
        assertThat(TransferSchema.classNames(m)).containsExactly("apple", "pear");
        assertThat(FeatureTransform.of(m)).isEqualTo(FeatureTransform.of(ref));
        assertThat(m.inputs().get("transformFrom").manifestId()).isEqualTo(ref.id());
        var rows = TransferTables.readTransfer(spark(), out).rows().orderBy("features").collectAsList();
        assertThat(rows.get(0).getInt(2)).isEqualTo(1); // pear is class 1 of the reference, not 0 of this day
        assertThat(TransferTables.floats(rows.get(0), 1)).isEqualTo(FeatureTransform.of(ref).apply(new float[] {-4, 1}));

        CliRun config = CliRun.of("config", "--print", "--config", conf.toString(), "ingest", "--out", out);
        assertThat(config.code()).as(config.err()).isZero();
        assertThat(config.out()).containsPattern("option = \\{\"header\":\"true\",\"inferSchema\":\"true\"} +# file")
                .containsPattern("format = \"csv\" +# file");
        assertThat(new ObjectMapper().readTree(m.toJson()).get("config").get("columns").get("features"))
                .hasSize(2);
    }
}
