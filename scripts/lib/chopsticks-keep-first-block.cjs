// Makes a Chopsticks database safe to resume from (scripts/chain --db FILE, FILE existing).
//
//   node scripts/lib/chopsticks-keep-first-block.cjs FILE
//
// Chopsticks in genesis mode (`--genesis`) builds block #1 afresh at every start, and saving a
// block first deletes every saved block of the same number. On a restart with `--resume`, that
// deletes the block #1 the saved chain was built on: resuming then walks back from the latest
// block to a parent it cannot find, takes it for the genesis (its hash becomes block #0's, so
// clients sign for the wrong genesis hash and the runtime rejects their transactions) and loses
// the first block's storage changes. This adds a SQLite trigger that keeps saved blocks #1 from
// being deleted; the fresh block #1 is saved next to them and the resumed chain is the saved one.
const path = require('node:path');
const sqlite3 = require(path.join(__dirname, '../../node_modules/sqlite3'));

const file = process.argv[2];
if (!file) {
  console.error('usage: chopsticks-keep-first-block.cjs <chopsticks db>');
  process.exit(2);
}
const db = new sqlite3.Database(file, sqlite3.OPEN_READWRITE, (err) => {
  if (err) {
    console.error(`cannot open ${file}: ${err.message}`);
    process.exit(1);
  }
});
db.exec(
  `CREATE TRIGGER IF NOT EXISTS kaisar_keep_first_block BEFORE DELETE ON block
     WHEN old.number = 1 BEGIN SELECT RAISE(IGNORE); END;`,
  (err) => {
    if (err) {
      console.error(`cannot prepare ${file} for resuming: ${err.message}`);
      process.exit(1);
    }
    db.close();
  },
);
