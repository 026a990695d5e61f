package dev.etcdrescue.agent.oldmember;

/** A value and where it was set. */
public record Sourced(String value, Source source) {}
