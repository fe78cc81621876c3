// Answers that arrive out of order. A view that asks the server again while an answer is on its way (its
// timer, a Refresh button, a pager, typing) shows only the answer to its latest request: an earlier
// request's answer that arrives after a newer request was sent is dropped, whether it succeeded or failed.

/** One per view (or per part of a view that asks on its own): the requests it sent, in order. */
export class Latest {
  constructor() {
    this.sent = 0;
  }

  /**
   * Send `request()` (a function returning a promise); once it settles, `show(answer)` or `fail(error)` runs,
   * unless a newer request went through this Latest meanwhile (or `drop()` was called). Resolves when that
   * is done: true if it ran, false if the answer was dropped.
   */
  async run(request, show, fail) {
    const sequence = ++this.sent;
    let answer;
    try {
      answer = await request();
    } catch (error) {
      if (sequence !== this.sent) return false;
      fail(error);
      return true;
    }
    if (sequence !== this.sent) return false;
    show(answer);
    return true;
  }

  /** Drop the answers on their way: the view shows something that needs none of them. */
  drop() {
    this.sent++;
  }
}
