/** ANSI styling that collapses to plain text when colour is off. */
export interface Colours {
  enabled: boolean;
  red(text: string): string;
  green(text: string): string;
  yellow(text: string): string;
  cyan(text: string): string;
  bold(text: string): string;
  dim(text: string): string;
}

function style(open: number, close: number) {
  return (text: string) => `\u001b[${open}m${text}\u001b[${close}m`;
}

const identity = (text: string) => text;

export function colours(enabled: boolean): Colours {
  if (!enabled) return { enabled, red: identity, green: identity, yellow: identity, cyan: identity, bold: identity, dim: identity };
  return { enabled, red: style(31, 39), green: style(32, 39), yellow: style(33, 39), cyan: style(36, 39), bold: style(1, 22), dim: style(2, 22) };
}
