// The questions the demo answers and the exact commands that answer them: printed by
// scripts/start.js, shown with their output in README.md, and asked by test/demo.
//
// Each SQL runs on the latest snapshot over the starter spec's tables (demo/spec/starter.yaml).
// The SQL is written to be pasted inside double quotes in a shell: no " and no $.

/** The demo's questions, in the order of the README's walkthrough. */
export const QUESTIONS = [
  {
    id: 'in-flight',
    question: 'What requests are in flight across all servers, for how long, for which user?',
    sql:
      'SELECT request_id, user_id, item, service, age_ms, wait_reason, app_function FROM in_flight_requests ' +
      'ORDER BY request_id, age_ms DESC',
  },
  {
    id: 'per-user',
    question: 'In-flight requests per user:',
    sql: 'SELECT user_id, requests, oldest_ms, oldest_request FROM in_flight_per_user ORDER BY oldest_ms DESC',
  },
  {
    id: 'stuck',
    question: 'What is the oldest (stuck) request doing, in each service?',
    sql:
      'SELECT service, request_id, user_id, item, age_ms, wait_reason, app_function, app_line FROM in_flight_requests ' +
      'WHERE request_id = (SELECT oldest_request FROM in_flight_per_user ORDER BY oldest_ms DESC LIMIT 1) ' +
      'ORDER BY age_ms DESC',
  },
  {
    id: 'stuck-stack',
    question: 'Its stack in inventory, with the values captured on each frame:',
    sql:
      'SELECT depth, function, line, captured FROM frame_values JOIN (SELECT process_id, goroutine_id ' +
      "FROM in_flight_requests WHERE service = 'inventory' ORDER BY age_ms DESC LIMIT 1) USING (process_id, goroutine_id) " +
      'ORDER BY depth',
  },
  {
    id: 'lock',
    question: 'Who waits for inventory’s stock lock, and which goroutine holds it?',
    sql:
      'SELECT waiting_request, waiting_user, waiting_ms, holder_request, holder_user, holder_item, ' +
      'holder_goroutine, holder_function, holder_line FROM lock_waits ORDER BY waiting_ms DESC',
  },
  {
    id: 'holder-stack',
    question: 'What the holder is doing (its stack and values):',
    sql:
      'SELECT depth, function, line, captured FROM frame_values JOIN (SELECT DISTINCT process_id, ' +
      'holder_goroutine AS goroutine_id FROM lock_waits) USING (process_id, goroutine_id) ORDER BY depth',
  },
  {
    id: 'path',
    question: 'What the servers are doing for one client request, followed through the links (alice’s):',
    sql:
      'SELECT hop, link, program, goroutine_id, wait_reason, app_function, app_line FROM request_paths ' +
      "WHERE user_id = 'alice' ORDER BY hop",
  },
  {
    id: 'failures',
    question: 'Do all failures come from one user?',
    sql: 'SELECT user_id, failures, last_error FROM failures_per_user ORDER BY failures DESC',
  },
];

/** The shell command that asks one question of the server at `url`. */
export function queryCommand(url, sql) {
  return `npx periscope query --server ${url} "${sql}"`;
}

/**
 * The commands of the README's probe walkthrough, in its order, for the server at `url`: a
 * probe on inventory's price check (`main.quote`, which runs outside the stuck lock), its
 * events, and its removal. test/demo checks the README shows each of them as printed here.
 */
export function probeCommands(url) {
  return [
    `npx periscope probe add prices --server ${url} --program inventory --function main.quote --capture item=item --capture qty=qty --ttl 30m`,
    `npx periscope events --server ${url} --probe prices --follow --count 3`,
    `npx periscope probe rm prices --server ${url}`,
  ];
}

/** Prints what to run next: the token, then each question with its command. */
export function printNextSteps({ url, token, envFile, logDir }) {
  const out = [];
  out.push('');
  out.push(`The Periscope server is at ${url}; a user token for it:`);
  out.push('');
  out.push(`  export PERISCOPE_TOKEN=${token}`);
  out.push(`  (or: source ${envFile}, which also sets PERISCOPE_SERVER)`);
  out.push('');
  out.push(`In a browser: open ${url}/ and sign in with that token (the web app, docs/web.md).`);
  out.push('');
  out.push('Then, in another terminal, ask:');
  for (const q of QUESTIONS) {
    out.push('');
    out.push(`# ${q.question}`);
    out.push(queryCommand(url, q.sql));
  }
  out.push('');
  out.push(
    '# Does this code run, and with what? A probe on inventory’s price check, its events, then its removal:',
  );
  for (const c of probeCommands(url)) out.push(c);
  out.push('');
  out.push('# The fleet as the agent sees it, and a new snapshot of all of it:');
  out.push(`npx periscope processes --server ${url}`);
  out.push(`npx periscope snapshot --server ${url} --all --label note=again`);
  out.push('');
  out.push(`Logs of every process: ${logDir}/. README.md walks through these answers.`);
  out.push('');
  console.log(out.join('\n'));
}
