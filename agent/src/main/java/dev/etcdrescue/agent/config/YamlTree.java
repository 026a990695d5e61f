package dev.etcdrescue.agent.config;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a YAML document into {@link YamlNode}s with the YAML module's streaming parser: the same
 * scanner, scalar types and error messages as {@code new ObjectMapper(new YAMLFactory()).readTree}, but
 * without Jackson databind, which would load ~400 classes at start that an idle agent never uses.
 */
final class YamlTree {
    private YamlTree() {}

    /** The first document's root, Java null for an empty document. */
    static YamlNode read(String text) throws IOException {
        try (JsonParser parser = new YAMLFactory().createParser(text)) {
            return parser.nextToken() == null ? null : node(parser);
        }
    }

    private static YamlNode node(JsonParser parser) throws IOException {
        JsonToken token = parser.currentToken();
        switch (token) {
            case START_OBJECT:
                Map<String, YamlNode> fields = new LinkedHashMap<>();
                while (parser.nextToken() == JsonToken.FIELD_NAME) {
                    String name = parser.currentName();
                    parser.nextToken();
                    fields.put(name, node(parser));
                }
                return new YamlNode.Mapping(fields);
            case START_ARRAY:
                List<YamlNode> items = new ArrayList<>();
                while (parser.nextToken() != JsonToken.END_ARRAY) {
                    items.add(node(parser));
                }
                return new YamlNode.Sequence(items);
            case VALUE_STRING:
                return new YamlNode.Scalar(parser.getText(), true);
            case VALUE_NUMBER_INT:
                return new YamlNode.Scalar(parser.getNumberValue().toString(), false);
            case VALUE_NUMBER_FLOAT:
                return new YamlNode.Scalar(Double.toString(parser.getDoubleValue()), false);
            case VALUE_TRUE:
            case VALUE_FALSE:
                return new YamlNode.Scalar(Boolean.toString(parser.getBooleanValue()), false);
            case VALUE_NULL:
                return YamlNode.Null.NULL;
            case VALUE_EMBEDDED_OBJECT:
                // !!binary: readTree made a BinaryNode, whose text is the bytes in base64.
                Object embedded = parser.getEmbeddedObject();
                return new YamlNode.Scalar(embedded instanceof byte[] bytes
                        ? Base64.getEncoder().encodeToString(bytes) : String.valueOf(embedded), false);
            default:
                throw new IOException("unexpected YAML token " + token);
        }
    }
}
