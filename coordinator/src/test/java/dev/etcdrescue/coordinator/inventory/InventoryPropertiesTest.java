package dev.etcdrescue.coordinator.inventory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Generated inventories: valid ones (random cluster and host names, 127.x.y.z addresses, ports and
 * optional variables at the all, group, cluster and host levels) load and give every member URLs of
 * its own address; one random mutation of a valid one is refused with an {@link InventoryException}
 * naming the file, never with another exception.
 */
class InventoryPropertiesTest {
    private static Path dir;
    private static int written;

    @BeforeContainer
    static void createDir() throws IOException {
        dir = Files.createTempDirectory("inventory-properties");
    }

    @AfterContainer
    static void deleteDir() throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    @Property(tries = 200)
    void validInventoriesLoadWithEveryMemberOnItsOwnAddress(@ForAll("validModels") InventoryModel model) throws IOException {
        Path file = write(model.render());
        Inventory inventory = InventoryLoader.load(file);

        assertThat(inventory.clusters()).extracting(ClusterPlan::name)
                .containsExactlyElementsOf(model.clusters.stream().map(c -> c.name).toList());
        for (InventoryModel.ClusterM cluster : model.clusters) {
            ClusterPlan plan = inventory.cluster(cluster.name).orElseThrow();
            assertThat(plan.members()).extracting(MemberPlan::hostName)
                    .containsExactlyElementsOf(cluster.hosts.stream().map(h -> h.name).toList());
            for (int i = 0; i < cluster.hosts.size(); i++) {
                InventoryModel.HostM host = cluster.hosts.get(i);
                MemberPlan member = plan.members().get(i);
                assertThat(member.address()).isEqualTo(host.address);
                assertThat(member.etcdName()).isEqualTo(host.etcdName());
                assertThat(member.agentHost()).isEqualTo(host.address);
                for (URI url : concat(member.peerUrls(), member.clientUrls())) {
                    assertThat(url.getHost()).as("%s of %s", url, host.name).isEqualTo(host.address);
                    assertThat(url.getScheme()).isEqualTo(model.scheme);
                }
                assertThat(member.peerUrls()).doesNotContainAnyElementsOf(member.clientUrls());
            }
            assertThat(plan.initialCluster().split(",")).hasSize(cluster.hosts.size());
        }
    }

    @Property(tries = 200)
    void everyMutationIsRefusedWithAnInventoryExceptionNamingTheFile(@ForAll("validModels") InventoryModel model,
            @ForAll Mutation mutation, @ForAll long seed) throws IOException {
        Random random = new Random(seed);
        Path file = write(mutation.apply(model, random));

        Throwable thrown = catchThrowable(() -> InventoryLoader.load(file));

        assertThat(thrown).as("%s of:%n%s", mutation, Files.readString(file, StandardCharsets.ISO_8859_1))
                .isExactlyInstanceOf(InventoryException.class);
        String message = thrown.getMessage();
        // Java class names are not refused: a non-UTF-8 file still says "java.nio.charset.MalformedInputException".
        assertThat(message).contains(file.toString()).doesNotContain("\tat ", "NullPointerException", "ClassCastException");
        assertThat(message.toLowerCase(java.util.Locale.ROOT)).as("%s", mutation).containsAnyOf(mutation.expected);
    }

    @Provide
    Arbitrary<InventoryModel> validModels() {
        return Arbitraries.randomValue(random -> InventoryModel.fromSeed(random.nextLong()));
    }

    private static Path write(String text) throws IOException {
        return Files.writeString(dir.resolve("inventory-" + (written++ % 8) + ".yaml"), text, StandardCharsets.ISO_8859_1);
    }

    private static List<URI> concat(List<URI> a, List<URI> b) {
        List<URI> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    /** One way to break a valid inventory; {@code expected} are words of which the message must hold one. */
    enum Mutation {
        DUPLICATE_ETCD_NAME("member names must be unique") {
            @Override
            String mutate(InventoryModel m, Random r) {
                InventoryModel.ClusterM c = m.anyCluster(r);
                InventoryModel.HostM first = c.hosts.get(0);
                InventoryModel.HostM twin = m.addHost(c, r);
                twin.set("etcd_name", first.etcdName());
                return m.render();
            }
        },
        CLIENT_URL_OF_ANOTHER_HOST("is the address of host") {
            @Override
            String mutate(InventoryModel m, Random r) {
                InventoryModel.ClusterM c = m.anyCluster(r);
                InventoryModel.HostM victim = c.hosts.get(0);
                InventoryModel.HostM other = m.addHost(c, r);
                String field = r.nextBoolean() ? "client_urls" : "peer_urls";
                other.vars.removeIf(v -> v.name().equals(field));
                other.vars.add(new InventoryModel.Var(field, "[" + m.scheme + "://" + victim.address + ":" + (41000 + r.nextInt(1000)) + "]"));
                return m.render();
            }
        },
        UNKNOWN_KEY("unknown") {
            @Override
            String mutate(InventoryModel m, Random r) {
                String key = List.of("colour", "adress", "peer_prot", "etcd-name", "x").get(r.nextInt(5));
                InventoryModel.Var bad = new InventoryModel.Var(key, "red");
                switch (r.nextInt(4)) {
                    case 0 -> m.allVars.add(bad);
                    case 1 -> m.anyCluster(r).vars.add(bad);
                    case 2 -> m.anyHost(r).vars.add(bad);
                    default -> m.anyCluster(r).extraLines.add(key + ": {}");
                }
                return m.render();
            }
        },
        WRONG_TYPE("must be a whole number", "must be a single value", "must be a list", "must be a mapping") {
            @Override
            String mutate(InventoryModel m, Random r) {
                InventoryModel.HostM h = m.anyHost(r);
                switch (r.nextInt(4)) {
                    case 0 -> h.set("peer_port", "[1, 2]");
                    case 1 -> h.set("data_dir", "{a: b}");
                    case 2 -> h.set("client_urls", "http://" + h.address + ":2379");
                    default -> h.set("agent_port", "seven");
                }
                return m.render();
            }
        },
        PORT_OUT_OF_RANGE("outside 1-65535", "must be a whole number") {
            @Override
            String mutate(InventoryModel m, Random r) {
                String port = List.of("0", "65536", "70000", "-1", "999999999").get(r.nextInt(5));
                String field = List.of("peer_port", "client_port", "agent_port").get(r.nextInt(3));
                m.anyHost(r).set(field, port);
                return m.render();
            }
        },
        MISSING_ADDRESS("address: missing") {
            @Override
            String mutate(InventoryModel m, Random r) {
                InventoryModel.HostM h = m.anyHost(r);
                h.address = null;
                h.vars.removeIf(v -> v.name().endsWith("_urls") && !v.name().startsWith("listen"));
                return m.render();
            }
        },
        BAD_URL("peer_urls", "client_urls", "snapshot_endpoints") {
            @Override
            String mutate(InventoryModel m, Random r) {
                String url = List.of("http//127.0.0.1:2380", "http://127.0.0.1", "ftp://127.0.0.1:2380",
                        "http://127.0.0.1:2380/path", "not a url", "http://:2380", "http://127.0.0.1:99999").get(r.nextInt(7));
                if (r.nextInt(3) == 0) {
                    InventoryModel.ClusterM c = m.anyCluster(r);
                    c.vars.removeIf(v -> v.name().startsWith("snapshot_"));
                    c.vars.add(new InventoryModel.Var("snapshot_endpoints", "[\"" + url + "\"]"));
                } else {
                    m.anyHost(r).set(r.nextBoolean() ? "peer_urls" : "client_urls", "[\"" + url + "\"]");
                }
                return m.render();
            }
        },
        BAD_UNIT_NAME("is not a systemd service name") {
            @Override
            String mutate(InventoryModel m, Random r) {
                String unit = List.of("\"etcd new\"", "a/b", "\"etcd;rm\"", "\"$(x)\"", "\"\"").get(r.nextInt(5));
                m.anyHost(r).set(r.nextBoolean() ? "new_unit" : "old_unit", unit);
                return m.render();
            }
        },
        DUPLICATE_YAML_KEY("appears twice", "duplicate") {
            @Override
            String mutate(InventoryModel m, Random r) {
                InventoryModel.HostM h = m.anyHost(r);
                h.vars.add(new InventoryModel.Var("address", h.address));
                return m.render();
            }
        },
        GARBAGE("not valid yaml", "an inventory", "is empty", "cannot read", "unknown top-level key", "no 'all:'", "must be a mapping") {
            @Override
            String mutate(InventoryModel m, Random r) {
                return switch (r.nextInt(4)) {
                    case 0 -> "all: [unclosed\n  hosts: {{{";
                    case 1 -> "\t- : -: ::\n@@@ %% `x`\n";
                    case 2 -> randomText(r, 1 + r.nextInt(300));
                    default -> {
                        byte[] bytes = new byte[1 + r.nextInt(200)];
                        r.nextBytes(bytes);
                        yield new String(bytes, StandardCharsets.ISO_8859_1);
                    }
                };
            }
        },
        EMPTY("is empty", "starts with 'all:'") {
            @Override
            String mutate(InventoryModel m, Random r) {
                return List.of("", "\n\n", "# only a comment\n", "---\n", "   \n").get(r.nextInt(5));
            }
        },
        DEEP_NONSENSE("not valid yaml", "must be", "unknown", "nesting") {
            @Override
            String mutate(InventoryModel m, Random r) {
                int depth = 20 + r.nextInt(200);
                String open = r.nextBoolean() ? "[" : "{a: ";
                String close = open.equals("[") ? "]" : "}";
                String nested = open.repeat(depth) + "1" + close.repeat(depth);
                if (r.nextBoolean()) {
                    m.anyHost(r).set(r.nextBoolean() ? "peer_urls" : "colour", nested);
                    return m.render();
                }
                return "all:\n  children: " + nested + "\n";
            }
        };

        final String[] expected;

        Mutation(String... expected) {
            this.expected = expected;
        }

        abstract String mutate(InventoryModel m, Random r);

        String apply(InventoryModel valid, Random r) {
            return mutate(valid.copy(), r);
        }

        private static String randomText(Random r, int length) {
            String alphabet = "abc:-[]{}#&*!|>'\"%@`,? \n\t0123456789.";
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < length; i++) {
                text.append(alphabet.charAt(r.nextInt(alphabet.length())));
            }
            return text.toString();
        }
    }

    /** A generated inventory, valid as built; {@link #render()} writes its YAML. Rebuilt from its seed to copy it. */
    static final class InventoryModel {
        record Var(String name, String yaml) {}

        static final class HostM {
            String name;
            String address;
            final List<Var> vars = new ArrayList<>();

            String etcdName() {
                return vars.stream().filter(v -> v.name().equals("etcd_name")).map(Var::yaml).reduce((a, b) -> b).orElse(name);
            }

            void set(String var, String yaml) {
                vars.removeIf(v -> v.name().equals(var));
                vars.add(new Var(var, yaml));
            }
        }

        static final class ClusterM {
            String name;
            String parent;
            final List<Var> parentVars = new ArrayList<>();
            final List<Var> vars = new ArrayList<>();
            final List<HostM> hosts = new ArrayList<>();
            final List<String> extraLines = new ArrayList<>();
        }

        private final long seed;
        private final Random random;
        private final Names names;
        final String scheme;
        final List<Var> allVars = new ArrayList<>();
        final List<ClusterM> clusters = new ArrayList<>();

        private InventoryModel(long seed) {
            this.seed = seed;
            this.random = new Random(seed);
            this.names = new Names(random);
            this.scheme = random.nextInt(4) == 0 ? "https" : "http";
        }

        static InventoryModel fromSeed(long seed) {
            InventoryModel m = new InventoryModel(seed);
            Random r = m.random;
            if (m.scheme.equals("https") || r.nextBoolean()) {
                m.allVars.add(new Var("scheme", m.scheme));
            }
            if (m.scheme.equals("https")) {
                // https needs the members' TLS files and the coordinator's etcd client files.
                m.allVars.add(new Var("etcd_cert_file", "/etc/etcd/pki/member.pem"));
                m.allVars.add(new Var("etcd_key_file", "/etc/etcd/pki/member-key.pem"));
                m.allVars.add(new Var("etcd_ca_file", "/etc/etcd/pki/ca.pem"));
                m.allVars.add(new Var("etcd_client_ca", "etcd-pki/ca.pem"));
                m.allVars.add(new Var("etcd_client_cert", "etcd-pki/client.pem"));
                m.allVars.add(new Var("etcd_client_key", "etcd-pki/client-key.pem"));
            }
            if (r.nextInt(4) == 0) {
                m.allVars.add(new Var("tls_dir", "/etc/etcd-rescue/pki"));
            }
            m.optionalVars(m.allVars);
            int clusters = 1 + r.nextInt(3);
            for (int i = 0; i < clusters; i++) {
                ClusterM c = new ClusterM();
                c.name = m.names.name("c-");
                if (r.nextInt(3) == 0) {
                    c.parent = m.names.name("g-");
                    m.optionalVars(c.parentVars);
                }
                c.vars.add(new Var("cluster_token", "tok-" + c.name));
                c.vars.add(r.nextBoolean() ? new Var("snapshot_endpoints", "[http://127.0.0.1:2379]")
                        : new Var("snapshot_file", "backups/" + c.name + ".db"));
                m.optionalVars(c.vars);
                m.clusters.add(c);
                int hosts = 1 + r.nextInt(5);
                for (int h = 0; h < hosts; h++) {
                    m.addHost(c, r);
                }
            }
            return m;
        }

        InventoryModel copy() {
            return fromSeed(seed);
        }

        ClusterM anyCluster(Random r) {
            return clusters.get(r.nextInt(clusters.size()));
        }

        HostM anyHost(Random r) {
            ClusterM c = anyCluster(r);
            return c.hosts.get(r.nextInt(c.hosts.size()));
        }

        /** A new valid host in {@code c}: own name and address, and some optional variables. */
        HostM addHost(ClusterM c, Random r) {
            HostM h = new HostM();
            h.name = names.name("h-");
            h.address = names.address();
            optionalVars(h.vars);
            if (r.nextInt(3) == 0) {
                h.vars.add(new Var("etcd_name", names.name("m-")));
            }
            if (r.nextInt(5) == 0) {
                h.set("peer_urls", "[" + url(h, 23000 + r.nextInt(7000)) + "]");
            }
            if (r.nextInt(5) == 0) {
                int port = 30000 + r.nextInt(5000);
                h.set("client_urls", "[" + url(h, port) + ", " + url(h, port + 1 + r.nextInt(4000)) + "]");
            }
            if (r.nextInt(5) == 0) {
                h.set("listen_client_urls", "[" + scheme + "://0.0.0.0:" + (30000 + r.nextInt(10000)) + "]");
            }
            c.hosts.add(h);
            return h;
        }

        private String url(HostM h, int port) {
            return scheme + "://" + h.address + ":" + port;
        }

        /** Variables any level may set; port ranges are disjoint so that no URL can collide with another. */
        private void optionalVars(List<Var> vars) {
            Random r = random;
            if (r.nextInt(3) == 0) {
                // Above the default ports (22379/22380), which a host that sets only one of the two still uses.
                vars.add(new Var("peer_port", Integer.toString(23000 + r.nextInt(7000))));
            }
            if (r.nextInt(3) == 0) {
                vars.add(new Var("client_port", Integer.toString(30000 + r.nextInt(10000))));
            }
            if (r.nextInt(3) == 0) {
                vars.add(new Var("agent_port", Integer.toString(40000 + r.nextInt(10000))));
            }
            if (r.nextInt(4) == 0) {
                vars.add(new Var("data_dir", "/var/lib/etcd/d" + r.nextInt(100)));
            }
            if (r.nextInt(5) == 0) {
                vars.add(new Var("wal_dir", "/var/lib/etcd-wal/w" + r.nextInt(100)));
            }
            if (r.nextInt(4) == 0) {
                vars.add(new Var("new_unit", "etcd_new" + r.nextInt(10) + (r.nextBoolean() ? ".service" : "")));
            }
            if (r.nextInt(4) == 0) {
                vars.add(new Var("old_unit", "etcd_old" + r.nextInt(10)));
            }
            if (r.nextInt(5) == 0) {
                // Always as a pair, so the nearest pair wins whole and keeps election >= 5 x heartbeat.
                int heartbeat = 10 + r.nextInt(490);
                vars.add(new Var("heartbeat_interval_ms", Integer.toString(heartbeat)));
                vars.add(new Var("election_timeout_ms", Integer.toString(heartbeat * (5 + r.nextInt(6)))));
            }
        }

        String render() {
            StringBuilder y = new StringBuilder("all:\n");
            vars(y, "  ", allVars);
            y.append("  children:\n");
            for (ClusterM c : clusters) {
                String indent = "    ";
                if (c.parent != null) {
                    y.append(indent).append(c.parent).append(":\n");
                    vars(y, indent + "  ", c.parentVars);
                    y.append(indent).append("  children:\n");
                    indent += "    ";
                }
                y.append(indent).append(c.name).append(":\n");
                for (String line : c.extraLines) {
                    y.append(indent).append("  ").append(line).append("\n");
                }
                vars(y, indent + "  ", c.vars);
                y.append(indent).append("  hosts:\n");
                for (HostM h : c.hosts) {
                    y.append(indent).append("    ").append(h.name).append(":");
                    if (h.address == null && h.vars.isEmpty()) {
                        y.append(" {}\n");
                        continue;
                    }
                    y.append("\n");
                    if (h.address != null) {
                        y.append(indent).append("      address: ").append(h.address).append("\n");
                    }
                    for (Var v : h.vars) {
                        y.append(indent).append("      ").append(v.name()).append(": ").append(v.yaml()).append("\n");
                    }
                }
            }
            return y.toString();
        }

        private static void vars(StringBuilder y, String indent, List<Var> vars) {
            if (vars.isEmpty()) {
                return;
            }
            y.append(indent).append("vars:\n");
            for (Var v : vars) {
                y.append(indent).append("  ").append(v.name()).append(": ").append(v.yaml()).append("\n");
            }
        }

        @Override
        public String toString() {
            return render();
        }
    }

    /** Unique names and addresses across a whole generated inventory. */
    static final class Names {
        private final Set<String> used = new HashSet<>();
        private final Random random;

        Names(Random random) {
            this.random = random;
        }

        String name(String prefix) {
            String alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-";
            while (true) {
                StringBuilder name = new StringBuilder(prefix);
                int length = 1 + random.nextInt(10);
                for (int i = 0; i < length; i++) {
                    name.append(alphabet.charAt(random.nextInt(i == length - 1 ? alphabet.length() - 1 : alphabet.length())));
                }
                if (used.add(name.toString())) {
                    return name.toString();
                }
            }
        }

        String address() {
            while (true) {
                String address = "127." + random.nextInt(256) + "." + random.nextInt(256) + "." + (1 + random.nextInt(254));
                if (used.add(address)) {
                    return address;
                }
            }
        }
    }
}
