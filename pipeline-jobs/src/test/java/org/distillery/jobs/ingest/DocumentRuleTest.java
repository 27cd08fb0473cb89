package org.distillery.jobs.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How each rule cuts a file's bytes into entries, and which rule a file takes. */
class DocumentRuleTest {
    private static List<String> cut(String rule, String file) {
        byte[] b = file.getBytes(StandardCharsets.UTF_8);
        return DocumentRule.parse(rule).entries(b).stream()
                .map(e -> e.number() + ":" + new String(b, e.from(), e.to() - e.from(), StandardCharsets.UTF_8))
                .toList();
    }

    @Test
    void linesFilesParagraphsAndDelimiters() {
        assertThat(cut("line", "a\r\nb\n\nc")).containsExactly("1:a", "2:b", "3:", "4:c");
        assertThat(cut("file", "a\nb\n")).containsExactly("1:a\nb");
        assertThat(cut("file", "")).containsExactly("1:");
        assertThat(cut("paragraph", "\n\na\nb\n \t\n\nc\n")).containsExactly("1:a\nb", "2:c");
        // fortune files: the delimiter after the last entry is optional; two in a row make an empty entry
        assertThat(cut("delimiter:%", "a\nb\n%\n%\nc\n%\n")).containsExactly("1:a\nb", "2:", "3:c");
        assertThat(cut("delimiter:%", "a\n%\nc")).containsExactly("1:a", "2:c");
        assertThat(cut("delimiter:%", "a\n%%\nc\r\n%\r\n")).containsExactly("1:a\n%%\nc");
    }

    @Test
    void aFileTakesTheFirstRuleWhoseGlobMatchesItsName() {
        List<DocumentRule> rules = List.of(DocumentRule.parse("*.gz=paragraph"), DocumentRule.parse("delimiter:%"));
        assertThat(DocumentRule.forFile(rules, "jargon.txt.gz").kind()).isEqualTo(DocumentRule.Kind.PARAGRAPH);
        assertThat(DocumentRule.forFile(rules, "cookie").kind()).isEqualTo(DocumentRule.Kind.DELIMITER);
        assertThat(DocumentRule.forFile(List.of(DocumentRule.parse("*.txt=line")), "cookie")).isNull();
        assertThat(DocumentRule.parse("delimiter:a=b").delimiter()).isEqualTo("a=b");
    }

    @Test
    void malformedRulesAreRefusedNamingThem() {
        assertThatThrownBy(() -> DocumentRule.parse("sentence")).hasMessage("--documents must be [GLOB=]RULE with"
                + " RULE line, file, paragraph or delimiter:LINE (LINE not empty), got 'sentence'");
        assertThatThrownBy(() -> DocumentRule.parse("delimiter:")).hasMessageEndingWith("got 'delimiter:'");
        assertThatThrownBy(() -> DocumentRule.parse("*.gz=words")).hasMessageEndingWith("got '*.gz=words'");
    }

    @Test
    void splitsSourcesOnCommasOutsideBraces() {
        assertThat(TextCorpus.splitOutsideBraces("/a/{b,c},/d/e.gz, /f")).containsExactly("/a/{b,c}", "/d/e.gz", "/f");
    }
}
