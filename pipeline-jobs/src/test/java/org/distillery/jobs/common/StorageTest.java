package org.distillery.jobs.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Listing data files on the local filesystem (HdfsPipelineTest lists them on HDFS, through Hadoop's listFiles). */
class StorageTest {
    @TempDir
    Path dir;

    private final Storage storage = new Storage(new Configuration());

    private void write(String relative, int bytes) throws Exception {
        Path p = dir.resolve(relative);
        Files.createDirectories(p.getParent());
        Files.write(p, new byte[bytes]);
    }

    @Test
    void listsDataFilesRecursivelyWithSizesAsHadoopsListFilesDoes() throws Exception {
        write("part-0.parquet", 10);
        write("part-1.parquet", 0);
        write("day=1/part-2.parquet", 7);
        write("day=1/hour=3/part-3.parquet", 3);
        write("_SUCCESS", 2);
        write(".part-0.parquet.crc", 4);
        write("_temporary/0/part-9.parquet", 5);
        write(".staging/part-8.parquet", 5);
        write("day=1/_hidden/part-7.parquet", 5);

        Map<String, Long> expected = new TreeMap<>(Map.of("part-0.parquet", 10L, "part-1.parquet", 0L,
                "day=1/part-2.parquet", 7L, "day=1/hour=3/part-3.parquet", 3L));
        assertThat(storage.files(dir.toString())).isEqualTo(expected);
        assertThat(storage.files("file:" + dir + "/")).isEqualTo(expected);

        // what the listing through LocatedFileStatus gives, which the local walk replaces
        Map<String, Long> viaListFiles = new TreeMap<>();
        org.apache.hadoop.fs.FileSystem fs = storage.fs(dir.toString());
        org.apache.hadoop.fs.Path root = fs.makeQualified(new org.apache.hadoop.fs.Path(dir.toString()));
        var it = fs.listFiles(root, true);
        while (it.hasNext()) {
            var f = it.next();
            String relative = f.getPath().toUri().getPath().substring(root.toUri().getPath().length() + 1);
            if (java.util.Arrays.stream(relative.split("/")).noneMatch(n -> n.startsWith("_") || n.startsWith("."))) {
                viaListFiles.put(relative, f.getLen());
            }
        }
        assertThat(viaListFiles).isEqualTo(expected);
    }

    @Test
    void aMissingDirectoryIsAnErrorNamingIt() {
        String missing = dir.resolve("nope").toString();
        assertThatThrownBy(() -> storage.files(missing)).hasMessageContaining("cannot list " + missing);
    }
}
