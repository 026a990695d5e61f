package dev.etcdrescue.agent.config;

import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * A node of agent.yaml as {@link YamlTree} reads it: the few questions {@link AgentConfigLoader} asks
 * of Jackson's JsonNode, answered the same way, without databind.
 */
sealed interface YamlNode {
    default boolean isObject() {
        return false;
    }

    default boolean isArray() {
        return false;
    }

    /** A scalar: string, number, boolean or an explicit null (as JsonNode.isValueNode()). */
    default boolean isValueNode() {
        return false;
    }

    /** A YAML string, not a number or a boolean. */
    default boolean isTextual() {
        return false;
    }

    default boolean isNull() {
        return false;
    }

    /** A scalar's text, numbers and booleans in Java's form (as JsonNode.asText()); "" otherwise. */
    default String asText() {
        return "";
    }

    /** The value of {@code key} in a mapping, Java null when absent (or this is no mapping). */
    default YamlNode get(String key) {
        return null;
    }

    default boolean has(String key) {
        return false;
    }

    default Iterator<String> fieldNames() {
        return List.<String>of().iterator();
    }

    /** The item at {@code index} of a sequence, Java null when out of range (or this is no sequence). */
    default YamlNode get(int index) {
        return null;
    }

    default int size() {
        return 0;
    }

    default boolean isEmpty() {
        return size() == 0;
    }

    /** A mapping; keys in the file's order (a repeated key keeps its first place and its last value). */
    record Mapping(Map<String, YamlNode> fields) implements YamlNode {
        @Override
        public boolean isObject() {
            return true;
        }

        @Override
        public YamlNode get(String key) {
            return fields.get(key);
        }

        @Override
        public boolean has(String key) {
            return fields.containsKey(key);
        }

        @Override
        public Iterator<String> fieldNames() {
            return fields.keySet().iterator();
        }

        @Override
        public int size() {
            return fields.size();
        }
    }

    record Sequence(List<YamlNode> items) implements YamlNode {
        @Override
        public boolean isArray() {
            return true;
        }

        @Override
        public YamlNode get(int index) {
            return index >= 0 && index < items.size() ? items.get(index) : null;
        }

        @Override
        public int size() {
            return items.size();
        }
    }

    record Scalar(String text, boolean textual) implements YamlNode {
        @Override
        public boolean isValueNode() {
            return true;
        }

        @Override
        public boolean isTextual() {
            return textual;
        }

        @Override
        public String asText() {
            return text;
        }
    }

    /** An explicit null ({@code key:} or {@code key: ~}), unlike an absent key. */
    enum Null implements YamlNode {
        NULL;

        @Override
        public boolean isValueNode() {
            return true;
        }

        @Override
        public boolean isNull() {
            return true;
        }

        @Override
        public String asText() {
            return "null";
        }
    }
}
