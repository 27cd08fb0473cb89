package org.distillery.model.schema;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

class ManifestTest {
    record Cfg(String in, double temperature) {
    }

    private static Manifest manifest(String createdAt, double t) {
        return Manifest.sealed("label", new Cfg("a", t), Map.of("transfer", new Manifest.Input("/x", "abc")),
                Manifest.facts("rows", 10, "temperature", t), Map.of("java", "17"), createdAt);
    }

    @Test
    void idIsAContentHashIndependentOfTime() {
        assertThat(manifest("2026-01-01", 2).id()).isEqualTo(manifest("2027-01-01", 2).id()).hasSize(64);
        assertThat(manifest("2026-01-01", 2).id()).isNotEqualTo(manifest("2026-01-01", 3).id());
    }

    @Test
    void roundTripsThroughJson() {
        Manifest m = manifest("2026-01-01", 2);
        Manifest back = Manifest.fromJson(m.toJson(), "test");
        assertThat(back).isEqualTo(m);
        assertThat(back.number("rows")).isEqualTo(10);
        assertThat(back.config(Cfg.class)).isEqualTo(new Cfg("a", 2));
        assertThat(back.inputs().get("transfer").manifestId()).isEqualTo("abc");
    }

    @Test
    void rejectsCorruptOrForeignManifests() {
        assertThatThrownBy(() -> Manifest.fromJson("{not json", "/p/_manifest.json"))
                .hasMessageStartingWith("corrupt manifest /p/_manifest.json");
        assertThatThrownBy(() -> Manifest.fromJson("{\"format\":\"other/9\"}", "/p/_manifest.json"))
                .hasMessage("unsupported manifest format 'other/9' in /p/_manifest.json (expected distillery.manifest/1)");
        assertThatThrownBy(() -> manifest("t", 1).number("missing"))
                .hasMessageEndingWith("has no numeric fact 'missing'");
    }

    @Test
    void refusesAManifestWhoseContentNoLongerMatchesItsId() {
        Manifest m = manifest("2026-01-01", 2);
        String edited = m.toJson().replace("\"temperature\" : 2.0", "\"temperature\" : 4.0");
        assertThat(edited).isNotEqualTo(m.toJson());
        assertThatThrownBy(() -> Manifest.fromJson(edited, "/p/_manifest.json")).isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith("manifest /p/_manifest.json does not match its id: its content hashes to ")
                .hasMessageContaining("its id says " + m.id());
        // the time of writing is not content: changing it keeps the manifest valid
        Manifest.fromJson(m.toJson().replace("2026-01-01", "2030-05-05"), "/p/_manifest.json");
    }

    @Test
    void listsItsFilesUnderANewId() {
        Manifest m = manifest("2026-01-01", 2);
        Manifest withFiles = m.withFiles(Map.of("part-0.parquet", 120L, "model.zip", 7L));
        assertThat(withFiles.id()).isNotEqualTo(m.id());
        assertThat(Manifest.fromJson(withFiles.toJson(), "test").files()).containsEntry("part-0.parquet", 120L);
        assertThat(Manifest.fromJson(withFiles.toJson(), "test")).isEqualTo(withFiles);
    }

    @Test
    void softTargetSchemaRejectsUnknownVersions() {
        SoftTargetSchema.checkVersion(1, "/soft");
        SoftTargetSchema.checkVersion(2, "/soft");
        assertThatThrownBy(() -> SoftTargetSchema.checkVersion(3, "/soft"))
                .hasMessage("unsupported soft-target schema version 3 in /soft (this build reads versions 1 and 2)");
        assertThatThrownBy(() -> SoftTargetSchema.checkVersion(0, "/soft"))
                .hasMessageStartingWith("unsupported soft-target schema version 0 in /soft");
    }
}
