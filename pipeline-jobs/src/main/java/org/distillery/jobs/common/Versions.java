package org.distillery.jobs.common;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Properties;
import java.util.Map;

/** Versions stamped on every manifest. */
public final class Versions {
    private Versions() {
    }

    private static final Properties BUILD = load();

    public static Map<String, String> current() {
        Map<String, String> v = new LinkedHashMap<>();
        v.put("distillery", BUILD.getProperty("distillery", "dev"));
        v.put("dl4j", BUILD.getProperty("dl4j", "unknown"));
        v.put("dl4jSpark", BUILD.getProperty("dl4jSpark", "unknown"));
        v.put("java", System.getProperty("java.version"));
        v.put("spark", org.apache.spark.package$.MODULE$.SPARK_VERSION());
        return v;
    }

    /** The distillery version, as built. */
    public static String distillery() {
        return BUILD.getProperty("distillery", "dev");
    }

    private static Properties load() {
        Properties p = new Properties();
        try (InputStream in = Versions.class.getResourceAsStream("/distillery-build.properties")) {
            if (in != null) {
                p.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p;
    }
}
