// The two log calls the engine and its periodic jobs make; pino's logger satisfies it.
export interface EngineLogger {
  info(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}
