package dev.etcdrescue.coordinator.cli;

import picocli.CommandLine;

final class VersionProvider implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
        String v = EtcdRescueCommand.class.getPackage().getImplementationVersion();
        return new String[] {"etcd-rescue " + (v == null ? "development build" : v)};
    }
}
