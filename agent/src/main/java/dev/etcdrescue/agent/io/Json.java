package dev.etcdrescue.agent.io;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The agent's Jackson mappers, made on first use. Databind is ~400 classes (~4.6 MiB resident) that an
 * idle agent does not need: a mapper in a field made at start loaded them all (docs/benchmarks.md,
 * Agent memory). A configured mapper is thread-safe, so one of each kind serves every caller.
 */
public final class Json {
    private Json() {}

    /** Fails on properties the target type does not have. */
    public static ObjectMapper strict() {
        return Strict.MAPPER;
    }

    /** Ignores properties the target type does not have (files written by another agent version). */
    public static ObjectMapper lenient() {
        return Lenient.MAPPER;
    }

    private static final class Strict {
        static final ObjectMapper MAPPER = new ObjectMapper();
    }

    private static final class Lenient {
        static final ObjectMapper MAPPER = new ObjectMapper()
                .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);
    }
}
