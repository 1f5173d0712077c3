/** Who is asking: carried from the edge into every service call, for throttles and audit. */
export interface RequestContext {
  ip: string;
  userAgent: string;
  locale: string;
}
