package dev.etcdrescue.agent.oldmember;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * etcd's {@code --config-file} YAML under environment names: a top-level key is its flag's name
 * ({@code quota-backend-bytes} is {@code ETCD_QUOTA_BACKEND_BYTES}), a list is joined with commas as
 * the flag takes it, and {@code client-transport-security}/{@code peer-transport-security} hold the TLS
 * flags without and with their {@code peer-} prefix (server/embed/config.go, {@code securityConfig}).
 */
public final class EtcdConfigFile {
    static final long MAX_SIZE = 1L << 20;
    private static final Map<String, String> SECURITY = Map.of("client-transport-security", "", "peer-transport-security", "peer-");

    private EtcdConfigFile() {}

    public static Map<String, Setting> read(Path file, Source namedAt) throws LayoutException {
        String text;
        try {
            if (!file.isAbsolute()) {
                throw new LayoutException(namedAt, "the config file " + file + " is not an absolute path: which file etcd"
                        + " reads depends on its working directory; give the absolute path");
            }
            if (Files.size(file) > MAX_SIZE) {
                throw new LayoutException(namedAt, "the config file " + file + " is larger than " + MAX_SIZE + " bytes");
            }
            text = Files.readString(file);
        } catch (IOException e) {
            throw new LayoutException(namedAt, "cannot read etcd's config file " + file + " (" + e.getMessage()
                    + "): the old member's settings are in it");
        }
        try {
            return parse(file, text);
        } catch (IOException e) {
            throw new LayoutException(new Source(file, 1), "is not YAML etcd-rescue can read: " + e.getMessage());
        }
    }

    static Map<String, Setting> parse(Path file, String text) throws IOException, LayoutException {
        Map<String, Setting> settings = new LinkedHashMap<>();
        try (JsonParser p = new YAMLFactory().createParser(text)) {
            JsonToken token = p.nextToken();
            if (token == null) {
                return settings;
            }
            if (token != JsonToken.START_OBJECT) {
                throw new LayoutException(new Source(file, 1), "etcd's config file must be a mapping of settings");
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String key = p.currentName();
                Source source = new Source(file, p.currentTokenLocation().getLineNr());
                JsonToken value = p.nextToken();
                if (value == JsonToken.START_OBJECT && SECURITY.containsKey(key)) {
                    while (p.nextToken() == JsonToken.FIELD_NAME) {
                        String sub = p.currentName();
                        Source subSource = new Source(file, p.currentTokenLocation().getLineNr());
                        p.nextToken();
                        put(settings, SECURITY.get(key) + sub, key + "." + sub, scalarOrList(p, subSource, key + "." + sub), subSource);
                    }
                } else {
                    put(settings, key, key, scalarOrList(p, source, key), source);
                }
            }
        }
        return settings;
    }

    private static void put(Map<String, Setting> settings, String flag, String key, String value, Source source) {
        if (value != null) {
            String env = Setting.envName(flag);
            settings.put(env, new Setting(env, value, key + ":", source));
        }
    }

    /** The value at the parser as the flag would take it; null for a YAML null (etcd's default). */
    private static String scalarOrList(JsonParser p, Source source, String key) throws IOException, LayoutException {
        JsonToken token = p.currentToken();
        if (token == JsonToken.VALUE_NULL) {
            return null;
        }
        if (token == JsonToken.START_ARRAY) {
            List<String> items = new ArrayList<>();
            while ((token = p.nextToken()) != JsonToken.END_ARRAY) {
                if (token.isStructStart()) {
                    throw new LayoutException(source, key + " holds a nested structure etcd-rescue does not read");
                }
                items.add(p.getText());
            }
            return String.join(",", items);
        }
        if (token.isStructStart()) {
            throw new LayoutException(source, key + " holds a nested structure etcd-rescue does not read");
        }
        return p.getText();
    }
}
