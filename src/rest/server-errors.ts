/** An error with the HTTP status it answers with; the error handler renders it as Connect's ErrorMessage. */
export class RestError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}
