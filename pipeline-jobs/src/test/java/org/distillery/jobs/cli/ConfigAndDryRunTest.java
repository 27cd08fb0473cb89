package org.distillery.jobs.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.Storage;
import org.distillery.model.schema.Manifest;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pipeline config file (precedence, unknown keys, config --print) and --dry-run on every job. */
class ConfigAndDryRunTest extends SparkTestBase {
    @TempDir
    static Path dir;
    static String transfer;
    static String validation;
    static String teacher;
    static String soft;

    @BeforeAll
    static void fixtures() throws Exception {
        transfer = Fixtures.transferSet(spark(), dir.resolve("transfer").toString(), 300, 31, 0);
        validation = Fixtures.transferSet(spark(), dir.resolve("validation").toString(), 100, 32, 10_000);
        teacher = Fixtures.saveZip(spark(), Fixtures.teacher(5, 20), dir.resolve("teacher.zip").toString());
        CliRun label = CliRun.of("label", "--transfer", transfer, "--teacher", teacher, "--out",
                dir.resolve("soft").toString(), "-T", "2");
        assertThat(label.code()).as(label.err()).isZero();
        soft = dir.resolve("soft").toString();
    }

    private static String conf(String name, String text) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, text);
        return p.toString();
    }

    private static JsonNode json(String line) throws Exception {
        return new ObjectMapper().readTree(line);
    }

    @Test
    void flagBeatsFileBeatsDefault() throws Exception {
        String file = conf("p.conf", "label { temperature = 4, batch-size = 7, transfer = \"" + transfer + "\" }\n");
        String out = dir.resolve("never").toString();
        CliRun fileOnly = CliRun.of("label", "--config", file, "--teacher", teacher, "--out", out, "--dry-run");
        assertThat(fileOnly.code()).as(fileOnly.err()).isZero();
        assertThat(json(fileOnly.lastLine()).get("temperature").asDouble()).isEqualTo(4.0);
        CliRun flag = CliRun.of("label", "--config", file, "--teacher", teacher, "--out", out, "-T", "3", "--dry-run");
        assertThat(json(flag.lastLine()).get("temperature").asDouble()).isEqualTo(3.0);
        CliRun none = CliRun.of("label", "--transfer", transfer, "--teacher", teacher, "--out", out, "--dry-run");
        assertThat(json(none.lastLine()).get("temperature").asDouble()).isEqualTo(2.0);

        CliRun print = CliRun.of("config", "--print", "--config", file, "label", "-T", "3", "--teacher", teacher);
        assertThat(print.code()).as(print.err()).isZero();
        assertThat(print.out()).containsPattern("temperature = 3.0 +# flag")
                .containsPattern("batch-size = 7 +# file")
                .containsPattern("transfer = \".*transfer\" +# file")
                .containsPattern("mode = \"fail-if-exists\" +# default")
                .containsPattern("out = null +# required, not set");
        assertThat(Files.exists(Path.of(out))).isFalse();
    }

    @Test
    void aFlagSetsABooleanTheFileAlreadySets() throws Exception {
        // picocli would flip a boolean flag whose default (here: from the file) is true; distill's flags only set
        String file = conf("flags.conf", "train { retemper = true, resume = true }\n");
        CliRun r = CliRun.of("config", "--print", "--config", file, "train", "--retemper", "--out", "x",
                "--checkpoint-dir", "c", "--resume", "--dry-run");
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).containsPattern("retemper = true +# flag").containsPattern("resume = true +# flag");
        CliRun off = CliRun.of("config", "--print", "--config", file, "train", "--retemper=false", "--out", "x");
        assertThat(off.out()).containsPattern("retemper = false +# flag").containsPattern("resume = true +# file");
    }

    @Test
    void aConfigFileFeedsARealRun() throws Exception {
        String out = dir.resolve("soft-from-file").toString();
        String file = conf("run.conf", "label {\n  transfer = \"" + transfer + "\"\n  teacher = \"" + teacher
                + "\"\n  out = \"" + out + "\"\n  temperature = 3\n}\n");
        CliRun r = CliRun.of("label", "--config", file);
        assertThat(r.code()).as(r.err()).isZero();
        Manifest m = Storage.of(spark()).publishedManifest(out);
        assertThat(m.number("temperature")).isEqualTo(3.0);
        // _SUCCESS carries the same one-line summary the job printed last (for sensors and XCom)
        assertThat(Files.readString(Path.of(out, "_SUCCESS")).strip()).isEqualTo(r.lastLine());
        assertThat(json(r.lastLine()).get("manifest").asText()).isEqualTo(m.id());
    }

    @Test
    void unknownKeysAndBadFilesAreErrorsNamingThem() throws Exception {
        CliRun typo = CliRun.of("label", "--config", conf("typo.conf", "label { temprature = 3 }"), "--transfer", "a",
                "--teacher", "b", "--out", "c");
        assertThat(typo.code()).isEqualTo(2);
        assertThat(typo.err().strip()).startsWith("distill: error: unknown key 'label.temprature' in ")
                .contains("label accepts: batch-size, ensemble, hint-layer, import, import-column, import-format,"
                        + " import-id, import-option, import-source-format, import-tolerance, import-topk-index,"
                        + " local-master, mode, out, partition, precision, soft, teacher, teacher-name, teacher-output,"
                        + " teacher-sha256, teacher-weight, temperature, top-k, transfer");
        CliRun section = CliRun.of("config", "--print", "--config", conf("section.conf", "lable { out = x }"));
        assertThat(section.code()).isEqualTo(2);
        assertThat(section.err()).contains("unknown section 'lable'");
        CliRun syntax = CliRun.of("config", "--print", "--config", conf("syntax.conf", "label { out = "));
        assertThat(syntax.code()).isEqualTo(2);
        assertThat(syntax.err()).contains("bad config file");
        CliRun missing = CliRun.of("config", "--print", "--config", dir.resolve("nope.conf").toString());
        assertThat(missing.err().strip()).isEqualTo("distill: error: config file not found: " + dir.resolve("nope.conf"));
        CliRun type = CliRun.of("label", "--config", conf("type.conf", "label { batch-size = many }"), "--transfer",
                transfer, "--teacher", teacher, "--out", "c", "--dry-run");
        assertThat(type.code()).isEqualTo(2);
        assertThat(type.err()).contains("'many' is not an int");
    }

    @Test
    void dryRunsCheckEverythingAndWriteNothing() throws Exception {
        String out = dir.resolve("dry").toString();
        CliRun train = CliRun.of("train", "--soft-targets", soft, "--validation", validation, "--out", out,
                "--checkpoint-dir", dir.resolve("dry-ckpt").toString(), "--resume", "--dry-run");
        assertThat(train.code()).as(train.err()).isZero();
        JsonNode plan = json(train.lastLine());
        assertThat(plan.get("dryRun").asBoolean()).isTrue();
        assertThat(plan.get("softTargets").asText()).contains("manifest "
                + Storage.of(spark()).publishedManifest(soft).id());
        assertThat(plan.get("out").asText()).endsWith("(new)");
        CliRun eval = CliRun.of("evaluate", "--test", validation, "--teacher", teacher, "--model", "t2=" + teacher,
                "--out", out, "--dry-run");
        assertThat(eval.code()).as(eval.err()).isZero();
        assertThat(json(eval.lastLine()).get("t2").asText()).contains("sha256 ");
        assertThat(Files.exists(Path.of(out))).isFalse();
        assertThat(Files.exists(dir.resolve("dry-ckpt"))).isFalse();

        // each rule a real run checks first, refused by the dry run with the real run's message
        CliRun pinned = CliRun.of("label", "--transfer", transfer, "--teacher", teacher, "--out", out,
                "--teacher-sha256", "0".repeat(64), "--dry-run");
        assertThat(pinned.code()).isEqualTo(2);
        assertThat(pinned.err()).contains("teacher SHA-256 mismatch");
        CliRun exists = CliRun.of("label", "--transfer", transfer, "--teacher", teacher, "--out", soft, "--dry-run");
        assertThat(exists.err().strip()).isEqualTo("distill label: error: output already exists (refusing to overwrite"
                + " a published output): " + soft);
        CliRun overwrite = CliRun.of("label", "--transfer", transfer, "--teacher", teacher, "--out", soft,
                "--mode", "overwrite", "--dry-run");
        assertThat(json(overwrite.lastLine()).get("out").asText()).contains("replaces manifest ");
        CliRun noSoft = CliRun.of("label", "--transfer", transfer, "--teacher", teacher, "--out", out, "--no-soft",
                "--dry-run");
        assertThat(noSoft.code()).as(noSoft.err()).isZero();
        assertThat(json(noSoft.lastLine()).get("storage").asText()).contains("no soft column");
        CliRun temper = CliRun.of("train", "--soft-targets", soft, "--out", out, "-T", "5", "--dry-run");
        assertThat(temper.err()).contains("temperature 5.0 disagrees with the label manifest's 2.0");
        CliRun notSoft = CliRun.of("train", "--soft-targets", transfer, "--out", out, "--dry-run");
        assertThat(notSoft.err()).contains("not a soft-target output");
        CliRun resume = CliRun.of("train", "--soft-targets", soft, "--out", out, "--resume", "--dry-run");
        assertThat(resume.err().strip()).isEqualTo("distill train: error: --resume needs --checkpoint-dir");
        CliRun model = CliRun.of("evaluate", "--test", validation, "--teacher", teacher, "--model",
                "x=" + dir.resolve("missing"), "--out", out, "--dry-run");
        assertThat(model.err()).contains("input not found: " + dir.resolve("missing"));
    }

    @Test
    void storageOptionsComeFromFlagsOrTheFileAndKIsCheckedAgainstTheTeacher() throws Exception {
        String out = dir.resolve("never").toString();
        String file = conf("storage.conf", "label { precision = fp16, top-k = 2, soft = true }\n");
        CliRun fromFile = CliRun.of("label", "--config", file, "--transfer", transfer, "--teacher", teacher, "--out",
                out, "--dry-run");
        assertThat(fromFile.code()).as(fromFile.err()).isZero();
        assertThat(json(fromFile.lastLine()).get("storage").asText())
                .isEqualTo("fp16, top 2 of 4 logits + tail_lse, soft column (schema v2)");
        CliRun flags = CliRun.of("label", "--config", file, "--transfer", transfer, "--teacher", teacher, "--out",
                out, "--no-soft", "--precision", "fp32", "--dry-run");
        assertThat(json(flags.lastLine()).get("storage").asText())
                .isEqualTo("fp32, top 2 of 4 logits + tail_lse, no soft column (schema v2)");
        CliRun none = CliRun.of("label", "--transfer", transfer, "--teacher", teacher, "--out", out, "--dry-run");
        assertThat(json(none.lastLine()).get("storage").asText())
                .isEqualTo("fp32, all 4 logits, soft column (schema v1)");

        CliRun tooMany = CliRun.of("label", "--transfer", transfer, "--teacher", teacher, "--out", out, "--top-k",
                "5", "--dry-run");
        assertThat(tooMany.code()).isEqualTo(2);
        assertThat(tooMany.err().strip())
                .isEqualTo("distill label: error: top-k must be in [1, 4] (the teacher's class count), got 5");
        CliRun zero = CliRun.of("label", "--transfer", transfer, "--teacher", teacher, "--out", out, "--top-k", "0");
        assertThat(zero.err().strip()).isEqualTo("distill label: error: top-k must be in [1, classes], got 0");
        CliRun fp8 = CliRun.of("label", "--transfer", transfer, "--teacher", teacher, "--out", out, "--precision",
                "fp8");
        assertThat(fp8.err().strip()).isEqualTo("distill label: error: precision must be fp32 or fp16, got 'fp8'");
        assertThat(Files.exists(Path.of(out))).isFalse();
    }

    @Test
    void dryRunReadsTheParquetFooterNotJustTheManifest() throws Exception {
        // a published directory whose data files are not Parquet, of the sizes its manifest lists: the manifest alone
        // would pass
        Path fake = dir.resolve("fake-transfer");
        org.apache.commons.io.FileUtils.copyDirectory(Path.of(transfer.replace("file:", "")).toFile(), fake.toFile());
        try (var files = Files.list(fake)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".parquet")).toList()) {
                Files.write(p, new byte[(int) Files.size(p)]);
                Files.deleteIfExists(p.resolveSibling("." + p.getFileName() + ".crc"));
            }
        }
        CliRun r = CliRun.of("label", "--transfer", fake.toString(), "--teacher", teacher, "--out",
                dir.resolve("x").toString(), "--dry-run");
        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).contains("corrupt Parquet input");
    }
}
