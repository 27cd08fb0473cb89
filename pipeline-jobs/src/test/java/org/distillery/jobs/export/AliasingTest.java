package org.distillery.jobs.export;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import org.distillery.jobs.common.Storage;
import org.junit.jupiter.api.Test;

/** Output paths compared with inputs fully qualified and normalised. */
class AliasingTest {
    private final Storage storage = new Storage(new org.apache.hadoop.conf.Configuration());

    @Test
    void samePathInsideAndContainingAreAliases() {
        assertThat(Aliasing.relation(URI.create("file:/a/m"), URI.create("file:/a/m"))).isEqualTo("is");
        assertThat(Aliasing.relation(URI.create("file:/a/m/x"), URI.create("file:/a/m"))).isEqualTo("is inside");
        assertThat(Aliasing.relation(URI.create("file:/a"), URI.create("file:/a/m"))).isEqualTo("contains");
        assertThat(Aliasing.relation(URI.create("file:/a/m2"), URI.create("file:/a/m"))).isNull(); // a sibling
        assertThat(Aliasing.relation(URI.create("hdfs://nn/a/m"), URI.create("file:/a/m"))).isNull();
    }

    @Test
    void pathsAreQualifiedAndNormalisedFirst() {
        String cwd = System.getProperty("user.dir");
        assertThat(Aliasing.normalised(storage, "runs/x/./m/")).isEqualTo(URI.create("file:" + cwd + "/runs/x/m"));
        assertThat(Aliasing.normalised(storage, "runs/x/y/../m")).isEqualTo(Aliasing.normalised(storage,
                "file:" + cwd + "/runs/x/m"));
        assertThat(Aliasing.normalised(storage, "runs//x/m")).isEqualTo(Aliasing.normalised(storage, "runs/x/m"));
    }
}
