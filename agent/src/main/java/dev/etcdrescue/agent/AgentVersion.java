package dev.etcdrescue.agent;

/** The agent's version, from the jar manifest (Implementation-Version), "dev" when run from classes. */
public final class AgentVersion {
    private AgentVersion() {}

    public static String get() {
        String version = AgentVersion.class.getPackage().getImplementationVersion();
        return version == null ? "dev" : version;
    }
}
