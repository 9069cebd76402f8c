// Exports of the npm package form, beyond the Action's `onExecutePostLogin` (see index.d.ts).
/* global run */

/**
 * A post-login handler with settings given in code; they take precedence over
 * `event.configuration` and `event.secrets`.
 */
exports.postLogin = (options) => {
  if (options === null || typeof options !== 'object') {
    throw new TypeError('postLogin(options): options must be an object of settings');
  }
  const frozen = JSON.parse(JSON.stringify(options));
  return (event, api) => run(event, api, frozen);
};
