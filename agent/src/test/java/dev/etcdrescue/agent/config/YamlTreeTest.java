package dev.etcdrescue.agent.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * YamlTree against what AgentConfigLoader read agent.yaml with before, {@code ObjectMapper.readTree} of the
 * YAML module: the same shape, scalar types and texts for every document, the same message for bad YAML.
 */
class YamlTreeTest {
    private static final ObjectMapper READ_TREE = new ObjectMapper(new YAMLFactory());

    @ParameterizedTest
    @ValueSource(strings = {
        "host_name: lv-etcd-research-beta-0\nlisten: 192.168.149.60:7443\ntls:\n  ca: /etc/ca.pem\n  coordinator_cn: c\n"
            + "allowed_data_roots: [/var/lib/etcd]\nbase_unit_dirs:\n  - /etc/systemd/system\n  - /lib/systemd/system\n",
        "a: 12345\nb: 0x1F\nc: 0o17\nd: 017\ne: 1_000\nf: +5\ng: -3\nh: 99999999999\ni: 123456789012345678901234567890\n",
        "a: 1.5\nb: 1e3\nc: 1.0e+3\nd: 0.1\ne: -2.5E-3\nf: 6.02e23\n",
        "a: true\nb: True\nc: FALSE\nd: yes\ne: no\nf: on\ng: off\nh: y\n",
        "a: ~\nb: null\nc:\nd: ''\ne: \"quoted 123\"\nf: '007'\ng: !!str 123\nh: \"\"\n",
        "a: !!binary aGVsbG8gd29ybGQ=\nb: 2001-12-14\nc: 12:30:00\nd: PT10M\ne: \"[::1]:7443\"\nf: 10.0.0.1:50\n",
        "a: [1, x, ~, [y, {z: 1}], {}]\nb: {c: d, e: [f]}\nc: []\n",
        "a: &anchor foo\nb: *anchor\nc: &list [1, 2]\n",
        "a: 1\nb: 2\na: 3\n",
        "a: 1\n---\nb: 2\n",
        "just text",
        "- /x\n- /y\n",
        "# only a comment\n",
        "",
        "  key with spaces  :   value with spaces   \n'quoted key': \"tab\\tand\\nnewline\"\nmulti: |\n  line one\n  line two\nfolded: >\n  a\n  b\n",
    })
    void readsEveryDocumentAsReadTreeDid(String yaml) throws Exception {
        JsonNode expected = READ_TREE.readTree(yaml);
        YamlNode actual = YamlTree.read(yaml);
        if (expected == null || expected.isMissingNode()) {
            assertThat(actual).isNull();
        } else {
            assertSame(expected, actual, "$");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"host_name: [", "a: b: c", "a: 'unterminated\n", "\tkey: x", "a:\n  - x\n b: y\n", "{a: 1"})
    void badYamlFailsWithReadTreesMessage(String yaml) {
        JsonProcessingException expected = catchThrowableOfType(() -> READ_TREE.readTree(yaml), JsonProcessingException.class);
        JsonProcessingException actual = catchThrowableOfType(() -> YamlTree.read(yaml), JsonProcessingException.class);
        assertThat(expected).as("readTree's failure").isNotNull();
        assertThat(actual).as("YamlTree's failure").isNotNull();
        assertThat(actual.getOriginalMessage()).isEqualTo(expected.getOriginalMessage());
    }

    @Test
    void scalarsKeepTheirType() throws Exception {
        YamlNode root = YamlTree.read("port: 7443\nname: '7443'\nflag: true\nnothing:\n");
        assertThat(root.get("port").isTextual()).isFalse();
        assertThat(root.get("port").asText()).isEqualTo("7443");
        assertThat(root.get("name").isTextual()).isTrue();
        assertThat(root.get("flag").asText()).isEqualTo("true");
        assertThat(root.has("nothing")).isTrue();
        assertThat(root.get("nothing").isNull()).isTrue();
        assertThat(root.has("absent")).isFalse();
    }

    private static void assertSame(JsonNode expected, YamlNode actual, String at) {
        assertThat(actual).as(at).isNotNull();
        assertThat(actual.isObject()).as(at + " is a mapping").isEqualTo(expected.isObject());
        assertThat(actual.isArray()).as(at + " is a sequence").isEqualTo(expected.isArray());
        assertThat(actual.isValueNode()).as(at + " is a scalar").isEqualTo(expected.isValueNode());
        assertThat(actual.isTextual()).as(at + " is a string").isEqualTo(expected.isTextual());
        assertThat(actual.isNull()).as(at + " is null").isEqualTo(expected.isNull());
        assertThat(actual.asText()).as(at + " text").isEqualTo(expected.asText());
        assertThat(actual.size()).as(at + " size").isEqualTo(expected.size());
        if (expected.isObject()) {
            List<String> names = new ArrayList<>();
            expected.fieldNames().forEachRemaining(names::add);
            List<String> actualNames = new ArrayList<>();
            actual.fieldNames().forEachRemaining(actualNames::add);
            assertThat(actualNames).as(at + " keys").isEqualTo(names);
            for (String name : names) {
                assertThat(actual.has(name)).isTrue();
                assertSame(expected.get(name), actual.get(name), at + "." + name);
            }
        }
        if (expected.isArray()) {
            for (int i = 0; i < expected.size(); i++) {
                assertSame(expected.get(i), actual.get(i), at + "[" + i + "]");
            }
            assertThat(actual.get(expected.size())).isNull();
        }
    }
}
