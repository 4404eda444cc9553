use mproc::managed;

struct Stack<T>(Vec<T>);

#[managed]
impl<T> Stack<T> {
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

fn main() {}
