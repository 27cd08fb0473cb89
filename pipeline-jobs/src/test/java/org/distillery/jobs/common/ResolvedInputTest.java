package org.distillery.jobs.common;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.distillery.jobs.Fixtures;
import org.distillery.jobs.SparkTestBase;
import org.distillery.model.schema.TransferSchema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An input resolved once at a job's door: the user's spelling kept, the path qualified, the manifest verified. */
class ResolvedInputTest extends SparkTestBase {
    @TempDir
    Path dir;

    private final Storage storage = Storage.of(spark());

    @Test
    void aPublishedTransferSetKeepsItsSpellingAndReadsAsResolved() {
        String transfer = dir.resolve("transfer").toString();
        Fixtures.transferSet(spark(), transfer, 40, 1, 0);
        String spelling = transfer + "/";

        ResolvedInput in = TransferTables.resolveTransfer(storage, spelling);

        assertThat(in.given()).isEqualTo(spelling);
        assertThat(in.path()).isEqualTo(storage.qualify(transfer));
        assertThat(in.manifest().id()).isEqualTo(storage.publishedManifest(transfer).id());
        assertThat(in.partitioned()).isFalse();
        assertThat(in.partitions()).isEmpty();
        assertThat(in.schemaVersion()).isEqualTo(TransferSchema.VERSION);
        assertThat(in.asInput().path()).isEqualTo(in.path());
        TransferTables.Transfer read = TransferTables.readTransfer(spark(), in);
        assertThat(read.path()).isEqualTo(in.path());
        assertThat(read.rows().count()).isEqualTo(40);
    }

    @Test
    void aPartitionedTableResolvesToItsCombinedManifestAndPartitions() {
        String table = dir.resolve("days").toString();
        Fixtures.transferSet(spark(), table + "/day=1", 30, 2, 0);
        Fixtures.transferSet(spark(), table + "/day=2", 20, 3, 1000);

        ResolvedInput in = TransferTables.resolveTransfer(storage, table);

        assertThat(in.partitioned()).isTrue();
        assertThat(in.path()).isEqualTo(storage.qualify(table));
        assertThat(in.partitions()).extracting(PartitionedTable.Partition::name).containsExactly("day=1", "day=2");
        assertThat(in.manifest().id()).isEqualTo(PartitionedTable.read(storage, table).id());
        assertThat((long) in.manifest().number("rows")).isEqualTo(50);
        assertThat(TransferTables.readTransfer(spark(), in).rows().count()).isEqualTo(50);
        ResolvedInput day = ResolvedInput.partition(table + "/day=2", in.table().partition("day=2"));
        assertThat(day.path()).isEqualTo(storage.qualify(table + "/day=2"));
        assertThat(TransferTables.readTransfer(spark(), TransferTables.checkTransfer(storage, day)).rows().count())
                .isEqualTo(20);
    }

    @Test
    void errorsNameThePathAsSpelt() {
        String missing = dir.resolve("nowhere").toString() + "/./";
        assertThatThrownBy(() -> TransferTables.resolveTransfer(storage, missing))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("input not found: " + missing);
    }
}
