package org.distillery.jobs.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The output rule on the local filesystem, one spelling of aliasing per case (HdfsPipelineTest does it on HDFS). */
class OutputRuleTest {
    @TempDir
    Path dir;

    private final Storage storage = new Storage(new Configuration());

    private Path published(String name) throws Exception {
        Path p = Files.createDirectories(dir.resolve(name));
        Files.writeString(p.resolve("_SUCCESS"), "{}");
        return p;
    }

    private OutputRule rule(Path in) {
        return OutputRule.of(storage).input("--transfer", in.toString());
    }

    @Test
    void canonicalFormIgnoresSpelling() throws Exception {
        Path in = published("data/train");
        String canonical = storage.canonical(in.toString());
        for (String spelling : new String[] {in + "/", in + "//", dir + "/data/./train", dir + "/data/x/../train",
            "file:" + in, "file://" + in, in.toUri().toString()}) {
            assertThat(storage.canonical(spelling)).as(spelling).isEqualTo(canonical);
        }
        Path link = Files.createSymbolicLink(dir.resolve("link"), dir.resolve("data"));
        assertThat(storage.canonical(link + "/train")).isEqualTo(canonical);
        assertThat(storage.canonical(link + "/train/not-yet/x")).isEqualTo(canonical + "/not-yet/x");
    }

    @Test
    void refusesAnOutputThatIsAnInputHoweverSpelt() throws Exception {
        Path in = published("data/train");
        Path link = Files.createSymbolicLink(dir.resolve("link"), in);
        for (String out : new String[] {in.toString(), in + "/", dir + "/data/./train", dir + "/data/x/../train",
            "file:" + in, link.toString()}) {
            assertThatThrownBy(() -> rule(in).check("--out", out)).as(out)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("--out " + out + " is the same location as input --transfer " + in);
        }
    }

    @Test
    void refusesAnOutputInsideOrAroundAnInput() throws Exception {
        Path in = published("data/train");
        assertThatThrownBy(() -> rule(in).check("--out", dir.resolve("data").toString()))
                .hasMessage("--out " + dir.resolve("data") + " contains input --transfer " + in);
        assertThatThrownBy(() -> rule(in).check("--out", dir.toString() + "/../" + dir.getFileName()))
                .hasMessageContaining("contains input --transfer " + in);
        assertThatThrownBy(() -> rule(in).check("--out", in.resolve("soft").toString()))
                .hasMessage("--out " + in.resolve("soft") + " is inside input --transfer " + in);
        rule(in).check("--out", dir.resolve("data/train-soft").toString()); // a sibling whose name extends it: fine
        rule(in).check("--out", dir.resolve("soft/train").toString());
    }

    @Test
    void refusesAnOutputInsideThePublishedTableOfAnInput() throws Exception {
        Path table = published("models/teacher");
        Files.writeString(table.resolve("model.zip"), "zip");
        OutputRule teacherFile = OutputRule.of(storage).input("--teacher", table.resolve("model.zip").toString());
        assertThatThrownBy(() -> teacherFile.check("--out", table.resolve("soft").toString()))
                .hasMessage("--out " + table.resolve("soft") + " is inside " + storage.canonical(table.toString())
                        + ", the published table of input --teacher " + table.resolve("model.zip"));
        Path day = published("transfer/dt=2026-11-24");
        Path table2 = dir.resolve("transfer");
        assertThat(PartitionedTable.isPartitioned(storage, table2.toString())).isTrue();
        assertThatThrownBy(() -> rule(day).check("--out", table2.resolve("dt=2026-11-25").toString()))
                .hasMessageContaining("the published table of input --transfer " + day);
    }

    @Test
    void refusesAnOutputThatCannotBeCreated() throws Exception {
        Path in = published("data/train");
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        assertThatThrownBy(() -> rule(in).check("--out", file.resolve("out").toString()))
                .hasMessage("--out " + file.resolve("out") + " cannot be created: file:" + file + " is a file");
        Path locked = Files.createDirectories(dir.resolve("locked"));
        assertThat(locked.toFile().setWritable(false, false)).isTrue();
        try {
            if (!Files.isWritable(locked)) { // root may write anyway: then there is nothing to refuse
                assertThatThrownBy(() -> rule(in).check("--out", locked.resolve("out").toString()))
                        .hasMessageEndingWith(" is not writable");
            }
        } finally {
            locked.toFile().setWritable(true, false);
        }
    }
}
