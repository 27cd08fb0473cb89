package org.distillery.jobs.label;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.apache.spark.sql.Row;
import org.distillery.jobs.SparkTestBase;
import org.distillery.jobs.common.Storage;
import org.distillery.jobs.common.TokenTables;
import org.distillery.jobs.common.TransferTables;
import org.distillery.model.schema.Manifest;
import org.distillery.model.schema.SoftTargetLayout;
import org.distillery.model.schema.TokenSoftTargetCodec;
import org.distillery.model.schema.TokenSoftTargetSchema;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Token soft targets published by the build that introduced them (golden/tokens-v1: a 4-line corpus cut into windows
 * of 8 with a burn-in of 2, vocabulary of 7 ids, labelled at T = 2 by a seeded DL4J LSTM LM {@code lstm:4:8}), dense
 * fp32 and top-3 fp16: this build must keep verifying their manifests and decoding their rows with
 * {@link TokenSoftTargetCodec}, so that a change of {@link TokenSoftTargetSchema} cannot silently break them.
 */
class TokenGoldenFilesTest extends SparkTestBase {
    @TempDir
    static Path dir;
    static Path golden;

    @BeforeAll
    static void copyGolden() throws Exception {
        Path source = Path.of("src/test/resources/golden/tokens-v1");
        golden = dir.resolve("golden");
        try (Stream<Path> files = Files.walk(source)) {
            for (Path f : files.toList()) {
                Path to = golden.resolve(source.relativize(f).toString());
                if (Files.isDirectory(f)) {
                    Files.createDirectories(to);
                } else {
                    Files.copy(f, to);
                }
            }
        }
    }

    private static Map<Long, float[][]> decoded(String name, SoftTargetLayout layout) {
        String path = golden.resolve(name).toString();
        TokenSoftTargetCodec codec = new TokenSoftTargetCodec(layout);
        Map<Long, float[][]> out = new TreeMap<>();
        List<String> columns = TokenSoftTargetSchema.columns(layout);
        assertThat(TransferTables.readPublished(spark(), path).columns()).containsExactlyElementsOf(columns);
        for (Row r : TransferTables.readPublished(spark(), path).collectAsList()) {
            out.put(r.getLong(0), codec.decode(r.getInt(5) - r.getInt(4), TokenTables.stored(r, 6, layout)));
        }
        return out;
    }

    @Test
    void manifestsVerifyAndBothLayoutsDecodeToTheSameTeacher() {
        Storage storage = Storage.of(spark());
        Manifest dense = storage.publishedManifest(golden.resolve("tokens-dense-fp32").toString());
        Manifest top = storage.publishedManifest(golden.resolve("tokens-top3-fp16").toString());
        SoftTargetLayout denseLayout = TokenSoftTargetSchema.layout(dense, "dense");
        SoftTargetLayout topLayout = TokenSoftTargetSchema.layout(top, "top");
        assertThat(denseLayout).isEqualTo(TokenSoftTargetSchema.layout(7, "fp32", null));
        assertThat(topLayout).isEqualTo(TokenSoftTargetSchema.layout(7, "fp16", 3));
        assertThat(top.number("rows")).isEqualTo(7);
        assertThat(top.text(TokenSoftTargetSchema.TEACHER_SHA256)).isEqualTo(dense.text(TokenSoftTargetSchema.TEACHER_SHA256));

        Map<Long, float[][]> z = decoded("tokens-dense-fp32", denseLayout);
        Map<Long, float[][]> k = decoded("tokens-top3-fp16", topLayout);
        assertThat(k.keySet()).isEqualTo(z.keySet()).hasSize(7);
        long tokens = 0;
        for (long id : z.keySet()) {
            for (int p = 0; p < z.get(id).length; p++) {
                tokens++;
                float[] full = z.get(id)[p];
                float[] kept = k.get(id)[p];
                // the log-sum-exp is kept (the tail's within fp16 of the kept values' rounding)
                assertThat(TokenReports.logSumExp(kept)).isCloseTo(TokenReports.logSumExp(full), within(2e-3));
                int best = org.distillery.model.loss.SoftTargets.argmax(full);
                assertThat((double) kept[best]).isCloseTo(full[best], within(Math.abs(full[best]) * 0x1p-11 + 1e-7));
            }
        }
        assertThat(tokens).isEqualTo((long) dense.number("scoredTokens"));
    }
}
