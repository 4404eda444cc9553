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
                        fn __mproc_start<
                            __A0: ::mproc::__private::TopologyValue,
                            __A1: ::mproc::__private::TopologyValue,
                            __R: ::mproc::__private::TopologyValue,
                        >(
                            __mproc_entry: fn((__A0, __A1)) -> __R,
                            __mproc_args: (__A0, __A1),
                            __mproc_options: ::mproc::__private::Options,
                        ) -> ::core::result::Result<
                            ::mproc::__private::Child<__R>,
                            ::mproc::__private::SpawnError,
                        > {
                            ::mproc::__private::Process::with_options(
                                    __mproc_entry,
                                    __mproc_args,
                                    __mproc_options,
                                )
                                .start()
                        }
                        let __mproc_entry = |(__mproc_arg0, __mproc_arg1)| produce(
                            ::core::convert::identity(__mproc_arg0),
                            ::core::convert::identity(__mproc_arg1),
                        );
                        __mproc_start(
                            __mproc_entry,
                            (items.writer(), i),
                            <::mproc::__private::Options as ::core::default::Default>::default()
                                .name(__replica.name())
                                .daemon(__replica.daemon()),
                        )
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
                        fn __mproc_start<
                            __A0: ::mproc::__private::TopologyValue,
                            __R: ::mproc::__private::TopologyValue,
                        >(
                            __mproc_entry: fn((__A0,)) -> __R,
                            __mproc_args: (__A0,),
                            __mproc_options: ::mproc::__private::Options,
                        ) -> ::core::result::Result<
                            ::mproc::__private::Child<__R>,
                            ::mproc::__private::SpawnError,
                        > {
                            ::mproc::__private::Process::with_options(
                                    __mproc_entry,
                                    __mproc_args,
                                    __mproc_options,
                                )
                                .start()
                        }
                        let __mproc_entry = |(__mproc_arg0,)| consume(
                            ::core::convert::identity(__mproc_arg0),
                        );
                        __mproc_start(
                            __mproc_entry,
                            (items.reader(),),
                            <::mproc::__private::Options as ::core::default::Default>::default()
                                .name(__replica.name())
                                .daemon(__replica.daemon()),
                        )
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
