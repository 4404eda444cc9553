#[allow(clippy::needless_pass_by_value)]
pub fn add((a, b): (u32, u32)) -> u64 {
    0
}
const _: () = {
    fn __mproc_travels<T: ::mproc::__private::PoolValue>() {}
    #[allow(dead_code)]
    fn __mproc_pool_task_types() {
        __mproc_travels::<u32>();
        __mproc_travels::<u32>();
        __mproc_travels::<u64>();
    }
};
