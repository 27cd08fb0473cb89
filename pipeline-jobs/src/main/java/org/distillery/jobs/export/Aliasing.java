package org.distillery.jobs.export;

import java.net.URI;
import java.util.Map;
import org.apache.hadoop.fs.Path;
import org.distillery.jobs.common.Storage;

/**
 * Refuses an output path that aliases an input: the same path, a path inside it, or a path containing it. Paths are
 * compared fully qualified ({@link Storage#qualify}: scheme, authority, absolute) and normalised as Hadoop paths
 * ({@code .} and {@code ..} resolved, repeated and trailing slashes dropped), so {@code runs/x/./m/} is
 * {@code file:/work/runs/x/m}.
 */
final class Aliasing {
    private Aliasing() {
    }

    /** Checks {@code out} against each input, by option name (null inputs are skipped). */
    static void check(Storage storage, String out, Map<String, String> inputs) {
        URI o = normalised(storage, out);
        inputs.forEach((option, path) -> {
            if (path == null) {
                return;
            }
            URI in = normalised(storage, path);
            String relation = relation(o, in);
            if (relation != null) {
                throw new IllegalArgumentException("--out " + o + " " + relation + " input " + option + " " + in
                        + ": write the export outside its inputs");
            }
        });
    }

    /** "is", "is inside" or "contains", or null when neither path is the other or an ancestor of it. */
    static String relation(URI out, URI input) {
        if (!java.util.Objects.equals(out.getScheme(), input.getScheme())
                || !java.util.Objects.equals(out.getAuthority(), input.getAuthority())) {
            return null;
        }
        String o = out.getPath();
        String i = input.getPath();
        if (o.equals(i)) {
            return "is";
        }
        if (o.startsWith(withSlash(i))) {
            return "is inside";
        }
        return i.startsWith(withSlash(o)) ? "contains" : null;
    }

    private static String withSlash(String p) {
        return p.endsWith("/") ? p : p + "/";
    }

    static URI normalised(Storage storage, String path) {
        return new Path(new Path(storage.qualify(path)).toUri().normalize()).toUri();
    }
}
