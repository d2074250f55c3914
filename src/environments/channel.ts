/** The channel every environment change is announced on (NOTIFY, delivered at commit; the change feed LISTENs). */
export const ENVIRONMENT_CHANNEL = "pinset_environment_changed";
