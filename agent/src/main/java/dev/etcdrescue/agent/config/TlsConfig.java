package dev.etcdrescue.agent.config;

import java.nio.file.Path;
import java.util.Optional;

/** The agent's own certificate, key and the fleet CA; optionally the one coordinator CN accepted. */
public record TlsConfig(Path ca, Path cert, Path key, Optional<String> coordinatorCn) {}
