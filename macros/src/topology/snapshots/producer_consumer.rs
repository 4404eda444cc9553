fn topology() {
    let _ = {
        /// What each process of the topology returned, one field per process.
        #[derive(Debug)]
        #[allow(dead_code)]
        struct __MprocTopologyResults<__P0, __P1> {
            producer: ::std::vec::Vec<
                ::core::result::Result<__P0, ::mproc::__private::topology::ProcessError>,
            >,
            consumer: ::std::vec::Vec<
                ::core::result::Result<__P1, ::mproc::__private::topology::ProcessError>,
            >,
        }
        #[allow(dead_code)]
        impl<__P0, __P1> __MprocTopologyResults<__P0, __P1> {
            /// The processes that failed, in declaration order (replicas in index order).
            fn failures(
                &self,
            ) -> ::std::vec::Vec<::mproc::__private::topology::Failure<'_>> {
                let mut failures = ::std::vec::Vec::new();
                ::mproc::__private::topology::failures_of(
                    &mut failures,
                    "producer",
                    &self.producer,
                );
                ::mproc::__private::topology::failures_of(
                    &mut failures,
                    "consumer",
                    &self.consumer,
                );
                failures
            }
        }
        ::mproc::__private::topology::Topology::new(|
            __launcher: &mut ::mproc::__private::topology::Launcher|
        {
            let (__mproc_queue_0, items) = __launcher
                .queue::<Item>("items", ::core::option::Option::None)?;
            let __count: ::core::primitive::usize = 3;
            let __mproc_process_0 = __launcher
                .replicated(
                    ::mproc::__private::topology::Member {
                        name: "producer",
                        daemon: false,
                        writes: &[__mproc_queue_0],
                        reads: &[],
                    },
                    __count,
                    |__replica| {
                        let i: ::core::primitive::usize = __replica.index();
                        <produce>::builder()
                            .name(__replica.name())
                            .daemon(__replica.daemon())
                            .spawn(items.writer(), i)
                    },
                )?;
            let __count: ::core::primitive::usize = 2;
            let __mproc_process_1 = __launcher
                .replicated(
                    ::mproc::__private::topology::Member {
                        name: "consumer",
                        daemon: false,
                        writes: &[],
                        reads: &[__mproc_queue_0],
                    },
                    __count,
                    |__replica| {
                        <consume>::builder()
                            .name(__replica.name())
                            .daemon(__replica.daemon())
                            .spawn(items.reader())
                    },
                )?;
            ::core::result::Result::Ok(move |
                __finish: &::mproc::__private::topology::Finish|
            __MprocTopologyResults {
                producer: __finish.results(__mproc_process_0),
                consumer: __finish.results(__mproc_process_1),
            })
        })
    };
}
