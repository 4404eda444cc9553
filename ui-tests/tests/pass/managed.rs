//! `#[managed]` types: a constructor with several arguments, one created from its value,
//! `&self` and `&mut self` methods, `Self` in a signature, pattern arguments, a typed error,
//! private helpers left alone; used through a started manager.

use mproc::manager::{Manager, ManagerError};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Point {
    x: i64,
    y: i64,
}

#[mproc::managed]
impl Point {
    pub fn moved(&self, (dx, dy): (i64, i64)) -> Self {
        Point { x: self.x + dx, y: self.y + dy }
    }

    pub fn set(&mut self, to: Self) -> Self {
        std::mem::replace(self, to)
    }
}

struct Account {
    owner: String,
    cents: u64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Refused {
    Insufficient { missing: u64 },
}

#[mproc::managed]
impl Account {
    fn new(owner: String, cents: u64) -> Self {
        Account { owner, cents }
    }

    /// Withdraws, or says how much is missing.
    pub fn withdraw(&mut self, cents: u64) -> Result<u64, Refused> {
        self.cents = self.cents.checked_sub(cents).ok_or_else(|| Refused::Insufficient {
            missing: cents - self.cents,
        })?;
        Ok(self.cents)
    }

    pub(crate) fn owner(&self) -> String {
        self.label()
    }

    pub fn touch(&mut self) {}

    fn label(&self) -> String {
        self.owner.clone()
    }

    pub fn helper() -> u8 {
        1
    }
}

fn main() -> Result<(), ManagerError> {
    let manager = Manager::builder()
        .register::<Point>()
        .register::<Account>()
        .start()?;
    let point: PointProxy = manager.create::<Point>(Point { x: 1, y: 2 })?;
    assert_eq!(point.moved((1, 1))?, Point { x: 2, y: 3 });
    assert_eq!(point.set(Point { x: 0, y: 0 })?, Point { x: 1, y: 2 });
    let account: AccountProxy = manager.create::<Account>(("ann".to_owned(), 100))?;
    assert_eq!(account.withdraw(30)?, Ok(70));
    assert_eq!(account.withdraw(80)?, Err(Refused::Insufficient { missing: 10 }));
    assert_eq!(account.owner()?, "ann");
    account.touch()?;
    assert_eq!(Account::helper(), 1);
    manager.shutdown()
}
