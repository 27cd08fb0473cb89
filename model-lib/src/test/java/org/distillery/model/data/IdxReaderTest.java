package org.distillery.model.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.DataOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxReaderTest {
    @TempDir
    Path dir;

    @Test
    void readsGzipAndPlainFiles() throws Exception {
        Path gz = dir.resolve("img.gz");
        try (DataOutputStream out = new DataOutputStream(new GZIPOutputStream(Files.newOutputStream(gz)))) {
            out.writeInt(0x803);
            out.writeInt(2);
            out.writeInt(1);
            out.writeInt(2);
            out.write(new byte[] {0, (byte) 255, 7, 8});
        }
        byte[][] images = IdxReader.readImages(gz);
        assertThat(images).hasDimensions(2, 2);
        assertThat(images[0][1] & 0xFF).isEqualTo(255);

        Path plain = dir.resolve("labels");
        try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(plain))) {
            out.writeInt(0x801);
            out.writeInt(3);
            out.write(new byte[] {1, 9, (byte) 200});
        }
        assertThat(IdxReader.readLabels(plain)).containsExactly(1, 9, 200);
    }

    @Test
    void rejectsTruncatedAndForeignFiles() throws Exception {
        Path truncated = dir.resolve("t");
        try (DataOutputStream out = new DataOutputStream(Files.newOutputStream(truncated))) {
            out.writeInt(0x801);
            out.writeInt(10);
            out.write(new byte[] {1, 2});
        }
        assertThatThrownBy(() -> IdxReader.readLabels(truncated)).hasMessage("IDX file is truncated: " + truncated);
        Path foreign = dir.resolve("f");
        Files.writeString(foreign, "hello, world");
        assertThatThrownBy(() -> IdxReader.readLabels(foreign))
                .hasMessageStartingWith("not an unsigned-byte IDX file with 1 dimensions: " + foreign);
    }
}
