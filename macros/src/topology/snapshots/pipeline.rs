fn topology() {
    let _ = {
        /// What each process of the topology returned, one field per process.
        #[derive(Debug)]
        #[allow(dead_code)]
        struct __MprocTopologyResults<__P0, __P1, __P2> {
            read: ::core::result::Result<
                __P0,
                ::mproc::__private::topology::ProcessError,
            >,
            transform: ::std::vec::Vec<
                ::core::option::Option<
                    ::core::result::Result<
                        __P1,
                        ::mproc::__private::topology::ProcessError,
                    >,
                >,
            >,
            write: ::core::result::Result<
                __P2,
                ::mproc::__private::topology::ProcessError,
            >,
        }
        #[allow(dead_code)]
        impl<__P0, __P1, __P2> __MprocTopologyResults<__P0, __P1, __P2> {
            /// The processes that failed, in declaration order (replicas in index order).
            fn failures(
                &self,
            ) -> ::std::vec::Vec<::mproc::__private::topology::Failure<'_>> {
                let mut failures = ::std::vec::Vec::new();
                ::mproc::__private::topology::failures_of(
                    &mut failures,
                    "read",
                    &self.read,
                );
                ::mproc::__private::topology::failures_of(
                    &mut failures,
                    "transform",
                    &self.transform,
                );
                ::mproc::__private::topology::failures_of(
                    &mut failures,
                    "write",
                    &self.write,
                );
                failures
            }
        }
        ::mproc::__private::topology::Topology::new(|
            __launcher: &mut ::mproc::__private::topology::Launcher|
        {
            let (__mproc_queue_0, lines) = __launcher
                .queue::<String>("lines", ::core::option::Option::Some(64))?;
            let (__mproc_queue_1, words) = __launcher
                .joinable_queue::<Vec<String>>("words", ::core::option::Option::None)?;
            let (__mproc_queue_2, log) = __launcher
                .queue::<String>("log", ::core::option::Option::None)?;
            let __mproc_process_0 = __launcher
                .single(
                    ::mproc::__private::topology::Member {
                        name: "read",
                        daemon: false,
                        writes: &[__mproc_queue_0],
                        reads: &[],
                    },
                    |__replica| {
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
                        let __mproc_entry = |(__mproc_arg0, __mproc_arg1)| stages::read(
                            ::core::convert::identity(__mproc_arg0),
                            ::core::convert::identity(__mproc_arg1),
                        );
                        __mproc_start(
                            __mproc_entry,
                            (path.clone(), lines.writer()),
                            <::mproc::__private::Options as ::core::default::Default>::default()
                                .name(__replica.name())
                                .daemon(__replica.daemon()),
                        )
                    },
                )?;
            let __count: ::core::primitive::usize = workers;
            let __mproc_process_1 = __launcher
                .replicated(
                    ::mproc::__private::topology::Member {
                        name: "transform",
                        daemon: true,
                        writes: &[__mproc_queue_1, __mproc_queue_2],
                        reads: &[__mproc_queue_0, __mproc_queue_2],
                    },
                    __count,
                    |__replica| {
                        fn __mproc_start<
                            __A0: ::mproc::__private::TopologyValue,
                            __A1: ::mproc::__private::TopologyValue,
                            __A2: ::mproc::__private::TopologyValue,
                            __R: ::mproc::__private::TopologyValue,
                        >(
                            __mproc_entry: fn((__A0, __A1, __A2)) -> __R,
                            __mproc_args: (__A0, __A1, __A2),
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
                        let __mproc_entry = |(__mproc_arg0, __mproc_arg1, __mproc_arg2)| stages::split(
                            ::core::convert::identity(__mproc_arg0),
                            ::core::convert::identity(__mproc_arg1),
                            ::core::convert::identity(__mproc_arg2),
                        );
                        __mproc_start(
                            __mproc_entry,
                            (lines.reader(), words.writer(), log.clone()),
                            <::mproc::__private::Options as ::core::default::Default>::default()
                                .name(__replica.name())
                                .daemon(__replica.daemon()),
                        )
                    },
                )?;
            let __mproc_process_2 = __launcher
                .single(
                    ::mproc::__private::topology::Member {
                        name: "write",
                        daemon: false,
                        writes: &[],
                        reads: &[__mproc_queue_1, __mproc_queue_2],
                    },
                    |__replica| {
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
                        let __mproc_entry = |(__mproc_arg0, __mproc_arg1)| stages::write(
                            ::core::convert::identity(__mproc_arg0),
                            ::core::convert::identity(__mproc_arg1),
                        );
                        __mproc_start(
                            __mproc_entry,
                            (words.reader(), log.reader()),
                            <::mproc::__private::Options as ::core::default::Default>::default()
                                .name(__replica.name())
                                .daemon(__replica.daemon()),
                        )
                    },
                )?;
            ::core::result::Result::Ok(move |
                __finish: &::mproc::__private::topology::Finish|
            __MprocTopologyResults {
                read: __finish.result(__mproc_process_0),
                transform: __finish.daemon_results(__mproc_process_1),
                write: __finish.result(__mproc_process_2),
            })
        })
    };
}
