/**
 * Types for the parts of the npm `sip` package (0.0.6, plain JavaScript) that gbcast uses: its
 * message model, parser, serializer and transaction layer. The transport and the request routing
 * of `sip.create` are not used (see stack.ts for why).
 */
declare module 'sip' {
  export interface SipUri {
    schema?: string;
    user?: string;
    password?: string;
    host: string;
    port?: number;
    params: Record<string, string | null>;
    headers?: Record<string, string>;
  }

  export interface SipAddress {
    name?: string;
    uri: string;
    params: Record<string, string | null>;
  }

  export interface SipVia {
    version?: string;
    protocol: string;
    host: string;
    port?: number;
    params: Record<string, string | number | null>;
  }

  export interface SipCSeq {
    seq: number;
    method: string;
  }

  /** Parsed headers by lower-case name; headers without a parser stay strings. */
  export interface SipHeaders {
    via: SipVia[];
    to: SipAddress;
    from: SipAddress;
    'call-id': string;
    cseq: SipCSeq;
    contact?: SipAddress[] | '*';
    'content-length'?: number;
    'content-type'?: string;
    authorization?: Record<string, string>[];
    'www-authenticate'?: Record<string, string>[];
    [name: string]: unknown;
  }

  export interface SipMessage {
    method?: string;
    uri?: string;
    status?: number;
    reason?: string;
    version?: string;
    headers: SipHeaders;
    /** The body as a latin1 ("binary") string: one character per byte. */
    content?: string;
  }

  export interface SipConnection {
    send(m: SipMessage): void;
    protocol: string;
    release(): void;
  }

  export interface ServerTransaction {
    send(m: SipMessage): void;
    message?(m: SipMessage, remote?: unknown): void;
    shutdown(): void;
  }

  export interface ClientTransaction {
    message?(m: SipMessage, remote?: unknown): void;
    shutdown(): void;
  }

  export interface TransactionLayer {
    createServerTransaction(rq: SipMessage, cn: SipConnection): ServerTransaction;
    createClientTransaction(cn: SipConnection, rq: SipMessage, callback: (rs: SipMessage) => void): ClientTransaction;
    getServer(m: SipMessage): ServerTransaction | undefined;
    getClient(m: SipMessage): ClientTransaction | undefined;
    destroy(): void;
  }

  export function parse(data: Buffer | string): SipMessage | undefined;
  export function stringify(m: SipMessage): string;
  export function parseUri(s: string): SipUri | undefined;
  export function stringifyUri(uri: SipUri | string): string;
  export function makeResponse(
    rq: SipMessage,
    status: number,
    reason?: string,
    extension?: { headers?: Record<string, unknown>; content?: string },
  ): SipMessage;
  export function makeTransactionLayer(options: Record<string, unknown>, open: (target: unknown) => SipConnection): TransactionLayer;
  export function generateBranch(): string;

  const sip: {
    parse: typeof parse;
    stringify: typeof stringify;
    parseUri: typeof parseUri;
    stringifyUri: typeof stringifyUri;
    makeResponse: typeof makeResponse;
    makeTransactionLayer: typeof makeTransactionLayer;
    generateBranch: typeof generateBranch;
  };
  export default sip;
}
