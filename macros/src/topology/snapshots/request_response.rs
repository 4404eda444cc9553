fn topology() {
    let _ = {
        /// What each process of the topology returned, one field per process.
        #[derive(Debug)]
        #[allow(dead_code)]
        struct __MprocTopologyResults<__P0, __P1> {
            asker: ::core::result::Result<
                __P0,
                ::mproc::__private::topology::ProcessError,
            >,
            answerer: ::core::result::Result<
                __P1,
                ::mproc::__private::topology::ProcessError,
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
                    "asker",
                    &self.asker,
                );
                ::mproc::__private::topology::failures_of(
                    &mut failures,
                    "answerer",
                    &self.answerer,
                );
                failures
            }
        }
        ::mproc::__private::topology::Topology::new(|
            __launcher: &mut ::mproc::__private::topology::Launcher|
        {
            let (client, server) = __launcher
                .pipe::<Request, Response>("(client, server)")?;
            let (events, notify) = __launcher.simplex::<Event>("(events, notify)")?;
            let __mproc_process_0 = __launcher
                .single(
                    ::mproc::__private::topology::Member {
                        name: "asker",
                        daemon: false,
                        writes: &[],
                        reads: &[],
                    },
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
                        let __mproc_entry = |(__mproc_arg0, __mproc_arg1, __mproc_arg2)| ask(
                            ::core::convert::identity(__mproc_arg0),
                            ::core::convert::identity(__mproc_arg1),
                            ::core::convert::identity(__mproc_arg2),
                        );
                        __mproc_start(
                            __mproc_entry,
                            (client, events, 10),
                            <::mproc::__private::Options as ::core::default::Default>::default()
                                .name(__replica.name())
                                .daemon(__replica.daemon()),
                        )
                    },
                )?;
            let __mproc_process_1 = __launcher
                .single(
                    ::mproc::__private::topology::Member {
                        name: "answerer",
                        daemon: false,
                        writes: &[],
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
                        let __mproc_entry = |(__mproc_arg0, __mproc_arg1)| answer(
                            ::core::convert::identity(__mproc_arg0),
                            ::core::convert::identity(__mproc_arg1),
                        );
                        __mproc_start(
                            __mproc_entry,
                            (server, notify),
                            <::mproc::__private::Options as ::core::default::Default>::default()
                                .name(__replica.name())
                                .daemon(__replica.daemon())
                                .start_method(StartMethod::Fork),
                        )
                    },
                )?;
            ::core::result::Result::Ok(move |
                __finish: &::mproc::__private::topology::Finish|
            __MprocTopologyResults {
                asker: __finish.result(__mproc_process_0),
                answerer: __finish.result(__mproc_process_1),
            })
        })
    };
}
