/** An environment is named within its project; every environment-scoped call carries both. */
export interface EnvironmentKey {
  project: string;
  environment: string;
}
