import { ConfigError, loadConfig } from "../../src/config";

/** Runs `loadConfig` on `env` and returns the ConfigError it throws (fails the test if it does not). */
export function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}
