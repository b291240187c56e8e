package io.flowmonkey;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Keeps README.md honest: every {@code ```java} block in it must appear, line for line, in a test
 * source file, where the compiler and a test run it. Lines are compared with runs of blanks folded
 * and end-of-line comments dropped, so the README may align code and annotate it differently.
 */
class ReadmeSnippetsTest {

    private static final Pattern JAVA_BLOCK = Pattern.compile("(?ms)^```java\\R(.*?)^```");
    private static final Path TEST_SOURCES = Path.of("src/test/java");

    @Test
    void every_java_snippet_in_the_readme_is_compiled_and_run_by_a_test() throws IOException {
        List<List<String>> snippets = snippets(Files.readString(Path.of("README.md"), StandardCharsets.UTF_8));
        Map<Path, List<String>> sources = testSources();

        List<String> missing = new ArrayList<>();
        for (List<String> snippet : snippets) {
            int matched = sources.values().stream().mapToInt(source -> longestRun(source, snippet)).max().orElse(0);
            if (matched < snippet.size()) {
                missing.add("snippet starting '" + snippet.get(0) + "': no test has its line " + (matched + 1)
                        + " after the lines before it: '" + snippet.get(matched) + "'");
            }
        }

        assertThat(snippets).as("java blocks in README.md").isNotEmpty();
        assertThat(missing)
                .as("README java blocks with no line-for-line copy under src/test/java (update the test "
                        + "that runs the snippet, or the README)")
                .isEmpty();
    }

    @Test
    void normalising_keeps_string_literals_that_contain_slashes() {
        assertThat(normalise("  ping(\"https://example.com\");   // the target"))
                .isEqualTo("ping(\"https://example.com\");");
        assertThat(normalise("List<Execution> acme    = store.findByTenant(\"acme\", 50);"))
                .isEqualTo("List<Execution> acme = store.findByTenant(\"acme\", 50);");
        assertThat(normalise("// a whole-line comment")).isEmpty();
    }

    private static List<List<String>> snippets(String readme) {
        List<List<String>> blocks = new ArrayList<>();
        Matcher m = JAVA_BLOCK.matcher(readme);
        while (m.find()) {
            List<String> lines = normalisedLines(m.group(1));
            if (!lines.isEmpty()) {
                blocks.add(lines);
            }
        }
        return blocks;
    }

    private static Map<Path, List<String>> testSources() throws IOException {
        try (Stream<Path> files = Files.walk(TEST_SOURCES)) {
            return files.filter(p -> p.toString().endsWith(".java"))
                    .collect(Collectors.toMap(p -> p, ReadmeSnippetsTest::read));
        }
    }

    private static List<String> read(Path file) {
        try {
            return normalisedLines(Files.readString(file, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<String> normalisedLines(String text) {
        return text.lines().map(ReadmeSnippetsTest::normalise).filter(l -> !l.isEmpty()).toList();
    }

    /** The most leading lines of {@code snippet} that appear consecutively somewhere in {@code source}. */
    private static int longestRun(List<String> source, List<String> snippet) {
        int best = 0;
        for (int start = 0; start < source.size() && best < snippet.size(); start++) {
            int n = 0;
            while (n < snippet.size() && start + n < source.size() && source.get(start + n).equals(snippet.get(n))) {
                n++;
            }
            best = Math.max(best, n);
        }
        return best;
    }

    /** Drops an end-of-line comment (outside string literals) and folds runs of blanks. */
    static String normalise(String line) {
        boolean inString = false;
        int cut = line.length();
        for (int i = 0; i < line.length(); i++) {
            char ch = line.charAt(i);
            if (ch == '\\' && inString) {
                i++;
            } else if (ch == '"') {
                inString = !inString;
            } else if (!inString && ch == '/' && i + 1 < line.length() && line.charAt(i + 1) == '/') {
                cut = i;
                break;
            }
        }
        return line.substring(0, cut).strip().replaceAll("\\s+", " ");
    }
}
